/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_introspect.h - helpers of the introspection selftests, in the
 * selftest library (selftests/lib/afx_introspect.c): /proc/net/afx and
 * afx_stat, the net.afx sysctls, sock_diag queries (afx_diag.ko) and the
 * afx-ss tool. Harness-agnostic like afx_lib.h.
 */
#ifndef AFX_INTROSPECT_H
#define AFX_INTROSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/afx_diag.h>

#define ST_ESTABLISHED	1
#define ST_SYN_SENT	2
#define ST_SYN_RECV	3
#define ST_CLOSE	7
#define ST_LISTEN	10

#define PROC_AFX	"/proc/net/afx"
#define PROC_STAT	"/proc/net/afx_stat"
#define SYSCTL_RANGE	"/proc/sys/net/afx/ephemeral_port_range"
#define SYSCTL_DGRAM	"/proc/sys/net/afx/dgram_max"
#define PROC_HEADER	"Type St Local            Peer             RecvQ    SendQ    Uid   Inode"

extern const char *const stat_names[];

#define NSTATS	13	/* lines of /proc/net/afx_stat, stat_names[] */

enum {
	S_CONN, S_REF_NOLISTEN, S_REF_FULL, S_OVERFLOW, S_DSENT, S_DRCVD,
	S_DROP_BCAST, S_DROP_FILT, S_DROP_NOPORT, S_BOUT, S_BIN, S_BDIRECT,
	S_SOCKS,
};

/* One line of /proc/net/afx. */
struct pline {
	unsigned int type, state;
	uint32_t laddr, lport, paddr, pport, rq, wq, uid;
	unsigned long ino;
};

struct dent {
	struct afx_diag_msg m;
	int has_name, has_peer_name, has_peer_ino, has_rqlen, has_uid;
	int has_shutdown, memlen;
	struct afx_diag_addr name, peer;
	uint32_t peer_ino, uid;
	struct afx_diag_rqlen rq;
	uint32_t mem[SK_MEMINFO_VARS];
	uint8_t shutdown;
};

#define SHOW_ALL	(AFX_DIAG_SHOW_NAME | AFX_DIAG_SHOW_PEER | \
			 AFX_DIAG_SHOW_RQLEN | AFX_DIAG_SHOW_UID | \
			 AFX_DIAG_SHOW_MEMINFO)

struct ssline {
	char netid[16], state[16], local[64], peer[64], users[256];
	unsigned long rq, wq, ino, peer_ino, uid;
	int has_ino, has_peer_ino, has_uid, has_skmem;
};

/*
 * Make sure afx_diag is loaded (autoloaded by a sock_diag query, else
 * finit_module() of the afx_diag.ko next to the binaries); remember
 * whether it was there before. afx_diag_restore() unloads it again if
 * afx_diag_setup() loaded it: it pins afx.ko. A program whose tests need
 * afx_diag calls both from a constructor and a destructor.
 */
void afx_diag_setup(void);
void afx_diag_restore(void);

unsigned long ino_of(int fd);
int module_loaded(const char *name);
void self_dir(char *buf, size_t size);
void afx_ss_path(char *buf, size_t size);
int proc_read(struct pline *out, int max, char *hdr, size_t hdrsize);
int proc_find(unsigned long ino, struct pline *p);
int proc_count_port(uint32_t port);
int stats_read(unsigned long long *v);
int sysctl_write(const char *path, const char *val);
int sysctl_range(int *lo, int *hi);
struct afx_diag_req diag_req(uint32_t show);
void diag_parse(const struct nlmsghdr *h, struct dent *d);
int diag_query_len(const void *req, size_t reqlen, int dump,
		   struct dent *out, int max);
int diag_query(const struct afx_diag_req *req, int dump,
	       struct dent *out, int max);
struct dent *dent_find(struct dent *d, int n, unsigned long ino);
int load_diag_ko(void);
int afx_ss(const char *args, struct ssline *out, int max, char *raw,
	   size_t rawsize);
struct ssline *ss_find(struct ssline *s, int n, unsigned long ino);

#endif /* AFX_INTROSPECT_H */
