// SPDX-License-Identifier: GPL-2.0
/*
 * afx_diag: the sock_diag (NETLINK_SOCK_DIAG) handler of AF_X sockets.
 *
 * A module of its own, as unix_diag is: the first SOCK_DIAG_BY_FAMILY
 * request for family 18 makes the kernel load it by its alias, and it
 * pulls in afx.ko for the socket list. Requests and replies are defined in
 * uapi/linux/afx_diag.h. A dump walks the namespace's socket list with
 * afx_sklist_next() and keeps its cursor, the id to look at next, in
 * cb->args[0]: each part resumes in O(log n), and a socket that lives
 * through the whole dump is shown exactly once; one created or closed
 * during it may or may not be. The cookie of a reply is the socket's id
 * and the low half of its SO_COOKIE, so an exact lookup that gives one
 * back finds its socket in O(1); one without a cookie walks the list.
 */

#include <linux/module.h>
#include <linux/sock_diag.h>
#include <linux/uidgid.h>
#include <net/netlink.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include <linux/afx_diag.h>

#include "afx.h"

/* Payload of the largest reply message for one socket. */
static size_t afx_diag_msg_size(void)
{
	return NLMSG_ALIGN(sizeof(struct afx_diag_msg)) +
	       2 * nla_total_size(sizeof(struct afx_diag_addr)) +
	       nla_total_size(sizeof(u32)) +			/* PEER_INO */
	       nla_total_size(sizeof(struct afx_diag_rqlen)) +
	       nla_total_size(sizeof(u32)) +			/* UID */
	       nla_total_size(SK_MEMINFO_VARS * sizeof(u32)) +
	       nla_total_size(sizeof(u8));			/* SHUTDOWN */
}

static int afx_diag_put_addr(struct sk_buff *skb, int type,
			     const struct sockaddr_x *sx)
{
	struct afx_diag_addr addr = {
		.adiag_addr = sx->sx_addr,
		.adiag_port = sx->sx_port,
	};

	if (!sx->sx_family)
		return 0;
	return nla_put(skb, type, sizeof(addr), &addr);
}

static bool afx_diag_match(const struct afx_diag_req *req,
			   const struct afx_sock_info *info)
{
	if (req->adiag_types && !(req->adiag_types & (1U << info->type)))
		return false;
	if (req->adiag_states && !(req->adiag_states & (1U << info->state)))
		return false;
	if (req->adiag_sport && info->local.sx_port != req->adiag_sport)
		return false;
	if (req->adiag_dport && info->peer.sx_port != req->adiag_dport)
		return false;
	return true;
}

/*
 * SK_MEMINFO_* as other families report them, from afx's own accounting:
 * what is queued for @sk to read (datagrams with their 8-byte headers)
 * and, for a stream, what it has queued at its peer.
 */
static int afx_diag_put_meminfo(struct sock *sk,
				const struct afx_sock_info *info,
				struct sk_buff *skb)
{
	struct nlattr *attr;
	u32 *mem;

	attr = nla_reserve(skb, AFX_DIAG_MEMINFO, SK_MEMINFO_VARS * sizeof(u32));
	if (!attr)
		return -EMSGSIZE;
	mem = nla_data(attr);
	memset(mem, 0, SK_MEMINFO_VARS * sizeof(u32));
	mem[SK_MEMINFO_RMEM_ALLOC] = info->rmem;
	mem[SK_MEMINFO_RCVBUF] = READ_ONCE(sk->sk_rcvbuf);
	if (info->type != SOCK_DGRAM && info->state != TCP_LISTEN)
		mem[SK_MEMINFO_WMEM_ALLOC] = info->wqueue;
	mem[SK_MEMINFO_SNDBUF] = READ_ONCE(sk->sk_sndbuf);
	mem[SK_MEMINFO_DROPS] = atomic_read(&sk->sk_drops);
	return 0;
}

/* The low 32 bits of @sk's SO_COOKIE. */
static u32 afx_diag_cookie_low(struct sock *sk)
{
	u32 cookie[2];

	sock_diag_save_cookie(sk, cookie);
	return cookie[0];
}

static int afx_diag_fill(struct sock *sk, const struct afx_sock_info *info,
			 struct sk_buff *skb, const struct afx_diag_req *req,
			 struct user_namespace *user_ns, u32 portid, u32 seq,
			 u16 flags)
{
	struct afx_diag_rqlen rql;
	struct afx_diag_msg *rep;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, portid, seq, SOCK_DIAG_BY_FAMILY, sizeof(*rep),
			flags);
	if (!nlh)
		return -EMSGSIZE;

	rep = nlmsg_data(nlh);
	rep->adiag_family = afx_info_family();
	rep->adiag_type = info->type;
	rep->adiag_state = info->state;
	rep->pad = 0;
	rep->adiag_ino = info->ino;
	rep->adiag_cookie[0] = afx_sk(sk)->all_id;
	rep->adiag_cookie[1] = afx_diag_cookie_low(sk);

	if ((req->adiag_show & AFX_DIAG_SHOW_NAME) &&
	    (afx_diag_put_addr(skb, AFX_DIAG_NAME, &info->local) ||
	     afx_diag_put_addr(skb, AFX_DIAG_PEER_NAME, &info->peer)))
		goto cancel;

	if ((req->adiag_show & AFX_DIAG_SHOW_PEER) && info->peer_ino &&
	    nla_put_u32(skb, AFX_DIAG_PEER_INO, info->peer_ino))
		goto cancel;

	if (req->adiag_show & AFX_DIAG_SHOW_RQLEN) {
		rql.adiag_rqueue = info->rqueue;
		rql.adiag_wqueue = info->wqueue;
		if (nla_put(skb, AFX_DIAG_RQLEN, sizeof(rql), &rql))
			goto cancel;
	}

	if ((req->adiag_show & AFX_DIAG_SHOW_UID) &&
	    nla_put_u32(skb, AFX_DIAG_UID,
			from_kuid_munged(user_ns, info->uid)))
		goto cancel;

	if ((req->adiag_show & AFX_DIAG_SHOW_MEMINFO) &&
	    afx_diag_put_meminfo(sk, info, skb))
		goto cancel;

	if (nla_put_u8(skb, AFX_DIAG_SHUTDOWN, info->shutdown))
		goto cancel;

	nlmsg_end(skb, nlh);
	return 0;

cancel:
	nlmsg_cancel(skb, nlh);
	return -EMSGSIZE;
}

static int afx_diag_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct afx_diag_req *req = nlmsg_data(cb->nlh);
	struct user_namespace *user_ns = sk_user_ns(skb->sk);
	struct net *net = sock_net(skb->sk);
	unsigned long index = cb->args[0];
	struct afx_sock_info info;
	struct sock *sk;

	for (; (sk = afx_sklist_next(net, &index)); index++) {
		afx_sock_info(sk, &info);
		if (afx_diag_match(req, &info) &&
		    afx_diag_fill(sk, &info, skb, req, user_ns,
				  NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, NLM_F_MULTI)) {
			/* Full: this socket starts the next part. */
			sock_put(sk);
			break;
		}
		sock_put(sk);
	}
	cb->args[0] = index;
	return skb->len;
}

/* Is @req's cookie the one afx_diag_fill() gives @sk? */
static bool afx_diag_cookie_is(struct sock *sk, const struct afx_diag_req *req)
{
	return req->adiag_cookie[0] == afx_sk(sk)->all_id &&
	       req->adiag_cookie[1] == afx_diag_cookie_low(sk);
}

static int afx_diag_get_exact(struct sk_buff *in_skb,
			      const struct nlmsghdr *nlh,
			      const struct afx_diag_req *req)
{
	struct net *net = sock_net(in_skb->sk);
	bool cookie = req->adiag_cookie[0] != AFX_DIAG_NOCOOKIE ||
		      req->adiag_cookie[1] != AFX_DIAG_NOCOOKIE;
	struct afx_sock_info info;
	unsigned long index;
	struct sk_buff *rep;
	struct sock *sk;
	int err;

	if (!req->adiag_ino)
		return -EINVAL;
	/* The cookie holds the socket's id: O(1) when it still names it. */
	if (cookie) {
		sk = afx_sklist_get(net, req->adiag_cookie[0]);
		if (sk && sock_i_ino(sk) == req->adiag_ino &&
		    afx_diag_cookie_is(sk, req))
			goto found;
		if (sk)
			sock_put(sk);
	}
	/* No cookie, or a stale one: ENOENT or ESTALE, by a walk. */
	for (index = 0; (sk = afx_sklist_next(net, &index)); index++) {
		if (sock_i_ino(sk) == req->adiag_ino)
			break;
		sock_put(sk);
	}
	if (!sk)
		return -ENOENT;
	err = -ESTALE;
	if (cookie)
		goto out;

found:
	err = -ENOMEM;
	rep = nlmsg_new(afx_diag_msg_size(), GFP_KERNEL);
	if (!rep)
		goto out;
	afx_sock_info(sk, &info);
	err = afx_diag_fill(sk, &info, rep, req,
			    sk_user_ns(NETLINK_CB(in_skb).sk),
			    NETLINK_CB(in_skb).portid, nlh->nlmsg_seq, 0);
	if (err) {
		nlmsg_free(rep);
		goto out;
	}
	err = nlmsg_unicast(net->diag_nlsk, rep, NETLINK_CB(in_skb).portid);
out:
	sock_put(sk);
	return err;
}

static int afx_diag_handler_dump(struct sk_buff *skb, struct nlmsghdr *h)
{
	int hdrlen = sizeof(struct afx_diag_req);
	const struct afx_diag_req *req;

	if (nlmsg_len(h) < hdrlen)
		return -EINVAL;
	req = nlmsg_data(h);
	if (req->sdiag_protocol)
		return -EINVAL;

	if (h->nlmsg_flags & NLM_F_DUMP) {
		struct netlink_dump_control c = {
			.dump = afx_diag_dump,
		};

		return netlink_dump_start(sock_net(skb->sk)->diag_nlsk, skb, h,
					  &c);
	}
	return afx_diag_get_exact(skb, h, req);
}

/* The family is afx's, known only once afx.ko is loaded. */
static struct sock_diag_handler afx_diag_handler = {
	.owner	= THIS_MODULE,
	.dump	= afx_diag_handler_dump,
};

static int __init afx_diag_init(void)
{
	BUILD_BUG_ON((int)AFX_DIAG_SS_ESTABLISHED != (int)TCP_ESTABLISHED);
	BUILD_BUG_ON((int)AFX_DIAG_SS_SYN_SENT != (int)TCP_SYN_SENT);
	BUILD_BUG_ON((int)AFX_DIAG_SS_SYN_RECV != (int)TCP_SYN_RECV);
	BUILD_BUG_ON((int)AFX_DIAG_SS_CLOSE != (int)TCP_CLOSE);
	BUILD_BUG_ON((int)AFX_DIAG_SS_LISTEN != (int)TCP_LISTEN);

	afx_diag_handler.family = afx_info_family();
	return sock_diag_register(&afx_diag_handler);
}

static void __exit afx_diag_exit(void)
{
	sock_diag_unregister(&afx_diag_handler);
}

module_init(afx_diag_init);
module_exit(afx_diag_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(AFX_VERSION);
MODULE_AUTHOR("The afx developers");
MODULE_DESCRIPTION("AF_X socket monitoring via SOCK_DIAG");
/* net-pf-16-proto-4-type-18: a NETLINK_SOCK_DIAG request for AF_X */
MODULE_ALIAS_NET_PF_PROTO_TYPE(PF_NETLINK, NETLINK_SOCK_DIAG, AF_X);
