// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal QEMU 7.2 TCG plugin: inclusive instructions per function, from a
 * shadow call stack per guest task, between executions of two marker
 * addresses (start=, end=), dumped to out=PREFIX.N.txt per window as
 * "entry calls inclusive" lines after a "# matched ..." header.
 *
 * A frame is pushed at a call (e8, ff /2) and popped at the ret that
 * returns to its return address; a ret to anywhere else with a frame
 * below it (a retpoline) retargets the top frame. A callee's inclusive
 * count is the instructions its task executed while it was on the stack
 * (recursion counted once); a tail-jumped callee counts in its caller.
 * The task is told by the address __switch_to_asm (sw=, up to swend=,
 * default sw + 0x60) loads the next task's stack pointer from
 * (&next->thread.sp): a memory callback on its `mov disp(%rsi),%rsp`;
 * calls inside __switch_to_asm (RSB filling) are not frames. When that
 * load is not found, it toggles between two stacks at sw= (each dump's
 * header then says "two-stack toggle"); without sw=, one stack for all.
 * stderr names the load when it is found.
 * The plugin API is declared by hand (API v1): Debian ships no
 * qemu-plugin.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb; struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*ucb)(unsigned int vcpu_index, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, ucb cb, enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, ucb cb, enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
typedef uint32_t qemu_plugin_meminfo_t;
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, void (*cb)(unsigned int, qemu_plugin_meminfo_t, uint64_t, void *), enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw, void *userdata);
__attribute__((visibility("default"))) int qemu_plugin_version = 1;

struct tbi { uint64_t vaddr, n; };
struct frame { uint64_t entry, ret, start; };
#define DEPTH 512
struct stk { struct frame f[DEPTH]; int d; uint64_t now; };
#define NSTK 1024
static struct stk *stks[NSTK]; static uint64_t keys[NSTK]; static int nstk = 1, cur;	/* slot 0: the task current at the window start */
static bool swload; static uint64_t nswitch, swoverflow, swend;
static struct stk *getstk(int i) { if (!stks[i]) stks[i] = calloc(1, sizeof(struct stk)); return stks[i]; }
/* per-entry stats: open addressing hash */
#define HS (1 << 16)
struct st { uint64_t entry, calls, incl, active; } tab[HS];
static struct st *get(uint64_t e) { uint64_t h = (e * 0x9E3779B97F4A7C15ull) >> 48; while (tab[h].entry && tab[h].entry != e) h = (h + 1) & (HS - 1); tab[h].entry = e; return &tab[h]; }
static uint64_t start_pc, end_pc, sw_pc; static bool active; static int win;
static char prefix[256] = "/tmp/callstk";
static uint64_t pend_call, pend_ret; static uint64_t unmatched, retpol, matched, overflow;

static void dump(void)
{
	char p[300]; snprintf(p, sizeof(p), "%s.%d.txt", prefix, win++);
	FILE *f = fopen(p, "w");
	if (!f) { perror(p); exit(1); }
	fprintf(f, "# matched %lu unmatched %lu retpoline %lu overflow %lu switches %lu tasks %lu%s\n", (unsigned long)matched, (unsigned long)unmatched, (unsigned long)retpol, (unsigned long)overflow, (unsigned long)nswitch, (unsigned long)nstk - 1 + !!keys[0], swload ? "" : " (two-stack toggle)");
	for (int i = 0; i < HS; i++) if (tab[i].calls) fprintf(f, "%lx %lu %lu\n", (unsigned long)tab[i].entry, (unsigned long)tab[i].calls, (unsigned long)tab[i].incl);
	fclose(f); memset(tab, 0, sizeof(tab)); for (int i = 0; i < NSTK; i++) if (stks[i]) memset(stks[i], 0, sizeof(struct stk)); memset(keys, 0, sizeof(keys)); nstk = 1; cur = 0; nswitch = 0; matched = unmatched = retpol = overflow = 0;
}
static void popf(struct stk *s)
{
	struct frame *fr = &s->f[--s->d];
	struct st *e = get(fr->entry);
	e->calls++;
	for (int i = 0; i < s->d; i++) if (s->f[i].entry == fr->entry) return; /* recursion in this task */
	e->incl += s->now - fr->start;
}
static void tb_cb(unsigned int vcpu, void *ud)
{
	struct tbi *t = ud;
	if (t->vaddr == start_pc) active = true;
	if (!active) { pend_call = pend_ret = 0; return; }
	struct stk *s = getstk(cur);
	if (pend_call) {
		if (s->d < DEPTH) { struct frame *fr = &s->f[s->d++]; fr->entry = t->vaddr; fr->ret = pend_call; fr->start = s->now; get(t->vaddr)->active++; }
		else overflow++;
		pend_call = 0;
	} else if (pend_ret) {
		int i; for (i = s->d - 1; i >= 0 && s->f[i].ret != t->vaddr; i--) ;
		if (i >= 0) { while (s->d > i) popf(s); matched++; }
		else if (s->d >= 2) { /* ret used as a jump (retpoline): the thunk frame becomes the target */
			popf(s); struct frame *fr = &s->f[s->d - 1];
			struct st *e = get(fr->entry); if (--e->active == 0) e->incl += 0; e->calls += 0;
			fr->entry = t->vaddr; get(t->vaddr)->active++; retpol++;
		} else unmatched++;
		pend_ret = 0;
	}
	s->now += t->n;
	if (t->vaddr == sw_pc && !swload) cur ^= 1;
	if (t->vaddr == end_pc) { active = false; dump(); }
}
/* __switch_to_asm loads the next task's stack pointer from &next->thread.sp */
static void swload_cb(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *ud)
{
	if (!active) return;
	int i; for (i = 0; i < nstk && keys[i] != vaddr; i++) ;
	if (i == nstk) { if (nstk == NSTK) { swoverflow++; i = 0; } else keys[nstk++] = vaddr; }
	cur = i; nswitch++;
}
/* ... after saving the previous one's to &prev->thread.sp: names a slot */
static void swstore_cb(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *ud)
{
	if (active && !keys[cur]) keys[cur] = vaddr;
}
static void call_cb(unsigned int vcpu, void *ud) { if (active) pend_call = (uint64_t)ud; }
static void ret_cb(unsigned int vcpu, void *ud) { if (active) pend_ret = 1; }

static void trans_cb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct tbi *t = calloc(1, sizeof(*t));
	size_t n = qemu_plugin_tb_n_insns(tb);
	t->vaddr = qemu_plugin_tb_vaddr(tb); t->n = n;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_cb, QEMU_PLUGIN_CB_NO_REGS, t);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *in = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *b = qemu_plugin_insn_data(in); size_t sz = qemu_plugin_insn_size(in), k = 0;
		while (k < sz && (b[k] == 0x2e || b[k] == 0x3e || b[k] == 0x66 || b[k] == 0x67 || b[k] == 0xf2 || b[k] == 0xf3 || (b[k] & 0xf0) == 0x40)) k++;
		if (k >= sz) continue;
		uint64_t pc = qemu_plugin_insn_vaddr(in);
		if (sw_pc && pc >= sw_pc && pc < swend) {
			/* mov mem,%rsp: REX.W (no REX.R) 8b, modrm reg=4, mod!=3 */
			if (k > 0 && (b[k - 1] & 0xfc) == 0x48 && !(b[k - 1] & 4) && b[k] == 0x8b && k + 1 < sz && ((b[k + 1] >> 3) & 7) == 4 && (b[k + 1] >> 6) != 3) {
				qemu_plugin_register_vcpu_mem_cb(in, swload_cb, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);	/* _R alone never fires in QEMU 7.2 */
				if (!swload) fprintf(stderr, "callstk: task switch at the load of %%rsp at %lx\n", (unsigned long)pc);
				swload = true;
			}
			/* mov %rsp,mem: REX.W (no REX.R) 89, modrm reg=4, mod!=3 */
			if (k > 0 && (b[k - 1] & 0xfc) == 0x48 && !(b[k - 1] & 4) && b[k] == 0x89 && k + 1 < sz && ((b[k + 1] >> 3) & 7) == 4 && (b[k + 1] >> 6) != 3)
				qemu_plugin_register_vcpu_mem_cb(in, swstore_cb, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
			continue;	/* no frames inside __switch_to_asm (RSB filling) */
		}
		bool call = b[k] == 0xe8 || (b[k] == 0xff && k + 1 < sz && ((b[k + 1] >> 3) & 7) == 2);
		bool ret = b[k] == 0xc3 || b[k] == 0xc2;
		if (call) qemu_plugin_register_vcpu_insn_exec_cb(in, call_cb, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)(qemu_plugin_insn_vaddr(in) + sz));
		else if (ret) qemu_plugin_register_vcpu_insn_exec_cb(in, ret_cb, QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}
__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "start=", 6)) start_pc = strtoull(argv[i] + 6, NULL, 0);
		else if (!strncmp(argv[i], "end=", 4)) end_pc = strtoull(argv[i] + 4, NULL, 0);
		else if (!strncmp(argv[i], "sw=", 3)) sw_pc = strtoull(argv[i] + 3, NULL, 0);
		else if (!strncmp(argv[i], "swend=", 6)) swend = strtoull(argv[i] + 6, NULL, 0);
		else if (!strncmp(argv[i], "out=", 4)) snprintf(prefix, sizeof(prefix), "%s", argv[i] + 4);
	}
	if (sw_pc && !swend) swend = sw_pc + 0x60;
	qemu_plugin_register_vcpu_tb_trans_cb(id, trans_cb);
	return 0;
}
