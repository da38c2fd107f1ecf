// SPDX-License-Identifier: GPL-2.0
/* Minimal QEMU 7.2 TCG plugin: instructions executed per TB start address,
 * between executions of two marker addresses (start=,end=), dumped to
 * out=PREFIX.N.txt per window. Declarations copied by hand (API v1). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb, enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
__attribute__((visibility("default"))) int qemu_plugin_version = 1;

struct ent { uint64_t vaddr, n, count; };
static struct ent **ents; static size_t nents, cap;
static uint64_t start_pc, end_pc; static bool active; static int win;
static char prefix[256] = "/tmp/tbcount";

static void dump(void)
{
	char path[300]; FILE *f; uint64_t tot = 0;
	snprintf(path, sizeof(path), "%s.%d.txt", prefix, win++);
	f = fopen(path, "w");
	if (!f) { perror(path); exit(1); }
	for (size_t i = 0; i < nents; i++) {
		struct ent *e = ents[i];
		if (e->count) {
			fprintf(f, "%lx %lu %lu\n", (unsigned long)e->vaddr, (unsigned long)e->n, (unsigned long)e->count);
			tot += e->n * e->count; e->count = 0;
		}
	}
	fprintf(f, "# total %lu\n", (unsigned long)tot);
	fclose(f);
}

static void exec_cb(unsigned int vcpu, void *ud)
{
	struct ent *e = ud;
	if (e->vaddr == start_pc) active = true;
	if (active) e->count++;
	if (e->vaddr == end_pc && active) { active = false; dump(); }
}

static void trans_cb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct ent *e = calloc(1, sizeof(*e));
	e->vaddr = qemu_plugin_tb_vaddr(tb); e->n = qemu_plugin_tb_n_insns(tb);
	if (nents == cap) { cap = cap ? cap * 2 : 65536; ents = realloc(ents, cap * sizeof(*ents)); }
	ents[nents++] = e;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, exec_cb, QEMU_PLUGIN_CB_NO_REGS, e);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "start=", 6)) start_pc = strtoull(argv[i] + 6, NULL, 0);
		else if (!strncmp(argv[i], "end=", 4)) end_pc = strtoull(argv[i] + 4, NULL, 0);
		else if (!strncmp(argv[i], "out=", 4)) snprintf(prefix, sizeof(prefix), "%s", argv[i] + 4);
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, trans_cb);
	return 0;
}
