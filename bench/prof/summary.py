#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# summary.py [--brief] DIR: the report of one scripts/profile.sh mode
# (see bench/prof/README).
#
# Reads DIR/windows ("I KIND TRANSPORT SIZE N" per plugin window), the
# plugins' dumps DIR/tb.I.txt (tbcount.so: self) and DIR/cs.I.txt
# (callstk.so: inclusive), the guest's text symbols DIR/kallsyms, its
# serial log DIR/guest.log and DIR/commit. Everything is per operation:
# the window's count divided by its N.
#
# Prints, per group of windows (same kind, size and socket type, e.g. the
# 64 B round trip of afx, pipe and unix): the totals, the guest's own lines,
# the self instructions by category and by layer, the operations inclusive
# (the afx function against its pipe_* and unix_* counterparts), afx.ko's
# functions, the churn focus groups (kind churn), and the largest self
# differences between afx and the reference (the pipe, else AF_UNIX).
# --brief prints only the totals and the categories.
# Writes DIR/out/GROUP.TR.self.txt and .incl.txt (every function of a
# window) and DIR/out/GROUP.AFX-vs-REF.txt (every function side by side).
import bisect
import collections
import os
import re
import sys

args = sys.argv[1:]
brief = '--brief' in args
args = [x for x in args if x != '--brief']
if len(args) != 1:
    sys.exit('usage: summary.py [--brief] DIR')
d = args[0]
os.makedirs(f'{d}/out', exist_ok=True)

# --- symbols ---------------------------------------------------------------
syms = {}
for line in open(f'{d}/kallsyms'):
    p = line.split()
    if len(p) < 3 or p[1] not in 'tTwW':
        continue
    a = int(p[0], 16)
    n = p[2] + (' ' + p[3] if len(p) > 3 else '')
    if a not in syms or syms[a].startswith('__') and not n.startswith('__'):
        syms[a] = n
sa = sorted(syms)
sn = [syms[a] for a in sa]
KERNEL = 0xffff800000000000


def fn(a):
    if a < KERNEL:
        return '[user]'
    i = bisect.bisect_right(sa, a) - 1
    return sn[i] if i >= 0 else '?%x' % a


def short(f):
    return f.replace(' [afx]', '')


# --- categories (self instructions) ----------------------------------------
CATS = [
    ('user space', r'^\[user\]$'),
    ('afx.ko own code', r'.*\[afx\]$'),
    ('syscall entry/exit', r'^(entry_SYSCALL_64.*|entry_SYSRETQ.*|syscall_return_via_sysret|do_syscall_64|syscall_enter_from_user_mode|syscall_exit_to_user_mode.*|exit_to_user_mode_prepare|x64_sys_call|__x64_sys_.*|fpregs_assert_state_consistent|__rseq_handle_notify_resume|rseq_.*|mem_cgroup_handle_over_high|blkcg_maybe_throttle_current|switch_fpu_return|restore_fpregs_from_fpstate|__get_user_.*|__put_user_.*|amd_clear_divider|__x86_indirect_thunk.*|__x86_return_thunk|__cond_resched|error_entry|error_return|asm_.*|irqentry_.*|__static_call_.*|task_work_run|syscall_trace_enter.*)$'),
    ('LSM (security_*, apparmor, tomoyo, bpf_lsm, selinux)', r'^(security_.*|apparmor_.*|aa_.*|__aa_.*|tomoyo_.*|bpf_lsm_.*|selinux_.*|avc_.*|label_.*|unix_may_send|unix_stream_connect_hooks|map_old_perms|profile_.*|match_component|aa_dfa_.*|__aa_path_perm|aa_sk_perm|aa_label_sk_perm|apparmor_socket_.*|apparmor_unix_.*|lsm_.*)$'),
    ('scheduler / wakeups / wait queues', r'^(__schedule|schedule|schedule_timeout|psi_.*|record_times|__update_load_avg.*|update_load_avg|update_curr|dequeue_.*|pick_next_.*|put_prev_.*|set_next_.*|__switch_to.*|switch_mm.*|finish_task_switch.*|rcu_note_context_switch|native_sched_clock|sched_clock.*|update_rq_clock.*|try_to_wake_up|ttwu_.*|check_preempt_.*|place_entity|enqueue_.*|__wake_up.*|default_wake_function|woken_wake_function|autoremove_wake_function|sock_def_readable|sock_def_wakeup|sock_def_write_space|resched_curr|select_task_rq.*|add_wait_queue.*|remove_wait_queue|wait_woken|prepare_to_wait.*|finish_wait|init_wait_entry|wake_up_.*|kick_process|__wake_q_.*|wake_q_.*|sk_wake_async|__sk_mem_.*|sock_wfree_wake|__list_add_valid|__list_del_entry_valid)$'),
    ('locks (spin, bh, mutex, lock_sock, seqlock)', r'^(_raw_.*|__local_bh_.*|local_bh_.*|lock_sock_nested|release_sock|__release_sock|__lock_sock.*|mutex_.*|__mutex_.*|down_.*|up_.*|_raw_spin_.*|queued_.*|native_queued_.*|__raw_.*|preempt_count_.*|__x86_.*_lock.*)$'),
    ('RCU (call_rcu, kfree_rcu, read side)', r'^(call_rcu.*|__call_rcu.*|kvfree_call_rcu|kfree_rcu.*|__rcu_read_.*|rcu_.*|__rcu_.*|check_cb_ovld.*|srcu_.*|__srcu_.*|add_ptr_to_bulk_krc_lock|krc_this_cpu_.*|schedule_delayed_monitor_work|.*kvfree_rcu.*)$'),
    ('memcg charge / accounting', r'^(memcg_.*|__memcg_.*|mem_cgroup_.*|__mem_cgroup_.*|obj_cgroup_.*|mod_objcg_.*|refill_obj_stock|consume_obj_stock|drain_obj_stock|get_obj_cgroup_from_current|__mod_memcg.*|mod_memcg.*|page_counter_.*|cgroup_rstat_.*|__count_memcg.*|memcg_account_kmem|mod_lruvec.*|__mod_lruvec.*|__mod_node_page_state|mod_node_page_state|sk_charge|sock_update_memcg|mem_cgroup_sk_.*|percpu_counter_.*|__percpu_counter_.*|cgroup_sk_.*|cgroup_.*)$'),
    ('slab / page alloc / free', r'^(kmem_cache_.*|__kmem_cache_.*|kmalloc.*|__kmalloc.*|kfree|kvfree|kzalloc.*|krealloc|___slab_alloc|__slab_alloc.*|__slab_free|slab_.*|_slab_.*|__free_slab|discard_slab|new_slab|allocate_slab|setup_object.*|get_partial.*|put_cpu_partial|__unfreeze_partials|unfreeze_partials|deactivate_slab|should_failslab|cache_from_obj|kmalloc_slab|__ksize|ksize|__alloc_pages.*|alloc_pages.*|get_page_from_freelist|rmqueue.*|__rmqueue.*|free_unref_page.*|__free_pages.*|free_pages.*|__free_one_page|free_pcp.*|__mod_zone_page_state|prep_new_page|post_alloc_hook|kasan_.*|memset|memset_orig|__memset|clear_page.*|memcpy|__memcpy|memcpy_orig|free_pcppages_bulk|__kmalloc_node.*|kmalloc_reserve|kmalloc_node.*|kvmalloc.*|page_frag_.*|__page_frag.*|pcpu_.*|alloc_percpu.*|free_percpu|__alloc_percpu.*|zone_watermark_ok|should_fail_alloc_page|__zone_watermark_ok|init_object|check_.*bytes|get_any_partial|node_.*|memcg_slab_post_alloc_hook|memcg_slab_free_hook)$'),
    ('copy (iov_iter, copy_user, usercopy checks)', r'^(_copy_to_iter|_copy_from_iter.*|copy_page_to_iter|copy_page_from_iter|copy_user_generic.*|copy_user_enhanced.*|rep_movs.*|page_copy_sane|__check_object_size|check_stack_object|__virt_addr_valid|__check_heap_object|is_vmalloc_addr|skb_copy_datagram.*|__skb_datagram_iter|simple_copy_to_iter|_copy_to_user|_copy_from_user|copy_from_user.*|copy_to_user.*|move_addr_to_.*|import_single_range|import_iovec|__import_iovec|iov_iter_.*|memcpy_.*|csum_.*|strncpy_from_user|clear_user|__clear_user|memchr)$'),
    ('socket / file / fd / inode / dentry (VFS and socket layer)', r'^(__sys_.*|__x64_sys_.*|sockfd_lookup.*|sock_.*|__sock_.*|__sock_create|sk_.*|__sk_.*|sock_alloc.*|sock_alloc_file|alloc_file.*|alloc_empty_file|__alloc_file|init_file|file_free.*|__fput|fput.*|____fput|__fget.*|__fdget.*|fget.*|fd_install|get_unused_fd_flags|alloc_fd|__alloc_fd|put_unused_fd|close_fd|pick_file|filp_close|filp_flush|file_close_fd|__close_fd.*|expand_files|d_alloc.*|__d_alloc|d_instantiate|d_set_d_op|dput|__dentry_kill|dentry_free|dentry_unlink_inode|__d_free|d_lru_.*|dentry_.*|d_.*|iput|evict|new_inode.*|alloc_inode|inode_init_.*|destroy_inode|free_inode_nonrcu|__destroy_inode|inode_.*|new_inode_pseudo|sockfs_.*|sock_free_inode|sock_alloc_inode|mntget|mntput.*|mnt_.*|get_next_ino|security_inode.*|fsnotify.*|__fsnotify.*|ksys_.*|vfs_.*|rw_verify_area|file_update_time|touch_atime|atime_needs_update|current_time|ktime_get_coarse.*|__get_task_ioprio|__f_unlock_pos|make_kuid|make_kgid|get_random_.*|stream_open|nonseekable_open|locks_remove_file|dnotify_flush|fasync_.*|__fasync_.*|task_work_add|__task_work_.*|percpu_ref_.*|module_put|try_module_get|__module_get|refcount_.*|proto_.*|net_.*|__put_net|get_net.*|put_pid|get_pid.*|pid_vnr|__task_pid_nr_ns|put_cred.*|get_cred.*|__put_cred|init_timer_key|del_timer.*|lock_timer_base|__init_waitqueue_head|__mutex_init|lockdep_.*|__init_rwsem|skb_queue_.*|__skb_.*|skb_.*|kfree_skb.*|__kfree_skb|consume_skb|alloc_skb.*|__alloc_skb|__build_skb.*|skb_release_.*|kfree_skbmem|skb_free_head|__copy_skb_header|sk_alloc|sk_free|__sk_free|sk_destruct|__sk_destruct|sk_prot_alloc|sk_prot_free|sock_init_data.*|sock_def_destruct|sock_efree|sock_rfree|sock_wfree|scm_.*|__scm_.*|put_cmsg|maybe_add_creds|__put_user_ns|file_ns_capable|ns_capable.*|capable|security_.*_dummy|errseq_sample|ihold|igrab|ilookup.*|find_inode.*|unlock_new_inode|__insert_inode_hash|init_special_inode|wake_up_bit|__wake_up_bit|clear_inode|__remove_inode_hash|inode_wait_for_writeback|truncate_inode_pages.*|prandom_u32|__fsnotify_parent|filp_open)$'),
    ('timer / irq / softirq (interrupts in the window)', r'^(hrtimer_.*|__hrtimer_.*|tick_.*|__sysvec_.*|sysvec_.*|lapic_.*|native_apic_.*|ktime_get.*|update_process_times|scheduler_tick|account_.*|irq_.*|__irq_.*|do_softirq.*|__do_softirq|run_timer_softirq|run_rebalance_domains|raise_softirq.*|timekeeping_.*|update_wall_time|clockevents_.*|read_tsc|handle_irq_event.*|task_tick_.*|trigger_load_balance|__run_timers|rcu_sched_clock_irq|calc_global_load_tick|run_local_timers|update_vsyscall|x86_pmu_.*|perf_event_task_tick|note_gp_changes|rcu_core.*|rcu_do_batch|rcu_cblist_.*|rcu_segcblist.*|irqtime_.*|vtime_.*|cpuacct_account_field|timerqueue_.*|enqueue_hrtimer|clockevents_program_event|lapic_next_deadline|smp_call_function.*|flush_smp_call_function.*|generic_smp_call_function.*|wq_worker_.*|kthread|worker_thread|process_one_work|process_scheduled_works|__queue_work|queue_work_on|queue_delayed_work_on|__queue_delayed_work|add_timer.*|internal_add_timer|mod_timer|__mod_timer|calc_wheel_index|enqueue_timer|detach_if_pending|sched_idle_set_state|default_idle.*|do_idle|cpu_startup_entry|arch_cpu_idle.*|cpuidle_.*|idle_.*|native_safe_halt)$'),
]
CATS = [(c.split(' (')[0], c, re.compile(rx)) for c, rx in CATS]
_cat = {}


def cat(f):
    if f not in _cat:
        _cat[f] = next((c for c, _, rx in CATS if rx.match(f)), 'other')
    return _cat[f]


# Layers: the categories regrouped to set the socket and VFS layers apart.
LAYERS = [
    ('context switch internals', r'^(update_min_vruntime|load_new_mm_cr3|cpuacct_charge|native_load_gs_index|check_spread.*|clear_buddies|save_fpregs_to_fpstate|_find_first_bit|rb_erase|update_cfs_group|rb_next|switch_ldt|native_load_tls|cr4_update_irqsoff|check_cfs_rq_runtime|hrtick_update|rb_insert_color|native_write_msr|invalidate_user_asid)$'),
    ('transport own code (afx.ko | pipe_* | unix_*)', r'^(.*\[afx\]|pipe_.*|anon_pipe_.*|kill_fasync|unix_.*|__unix_.*|maybe_add_creds|scm_recv.*)$'),
    ('socket layer (sock_*_iter, __sys_sendto/recvfrom, sock_*msg)', r'^(sock_write_iter|sock_read_iter|__sock_sendmsg|sock_sendmsg|sock_sendmsg_nosec|sock_recvmsg|sock_recvmsg_nosec|__sys_sendto|__sys_recvfrom|__x64_sys_sendto|__x64_sys_recvfrom|sockfd_lookup_light|__fdget|import_single_range|move_addr_to_user|sock_def_readable|sock_def_write_space|sk_wake_async|skwq_.*)$'),
    ('VFS read/write path (vfs_*, ksys_*, rw_verify_area, fdget_pos)', r'^(vfs_read|vfs_write|ksys_read|ksys_write|__x64_sys_read|__x64_sys_write|rw_verify_area|__fdget_pos|__f_unlock_pos|__fget_light|__get_task_ioprio|__fsnotify_parent|fsnotify.*|new_sync_.*)$'),
    ('file timestamps (file_update_time, touch_atime, current_time)', r'^(file_update_time|touch_atime|current_time|atime_needs_update|inode_needs_update_time.*|ktime_get_coarse_real_ts64|__mnt_want_write.*|mnt_.*write.*|generic_update_time|__mark_inode_dirty|inode_update_timestamps|sb_start_write.*|__sb_.*)$'),
]
LAYERS = [(c, re.compile(rx)) for c, rx in LAYERS]


def layer(f):
    c = next((c for c, rx in LAYERS if rx.match(f)), None)
    if c:
        return c
    c = cat(f)
    return 'wakeups / scheduler / wait queues' if c.startswith('scheduler') else c


# --- operations, inclusive: label, then functions per transport family
# (afx, pipe, unix; '*' for all), summed.
OPS_IO = [
    ('x64_sys_call (all syscalls, excl. entry/exit)', {'*': ['x64_sys_call']}),
    ('write(2)/send(2): ksys_write | __sys_sendto', {'*': ['ksys_write', '__sys_sendto']}),
    ('  vfs_write', {'*': ['vfs_write']}),
    ('  sock_write_iter', {'*': ['sock_write_iter']}),
    ('  __sock_sendmsg (LSM + ->sendmsg)', {'*': ['__sock_sendmsg', 'sock_sendmsg']}),
    ('  security_socket_sendmsg', {'*': ['security_socket_sendmsg']}),
    ('  send op: afx_*_sendmsg | pipe_write | unix_*_sendmsg',
     {'afx': ['afx_stream_sendmsg', 'afx_dgram_sendmsg'], 'pipe': ['pipe_write'],
      'unix': ['unix_stream_sendmsg', 'unix_dgram_sendmsg']}),
    ('read(2)/recv(2): ksys_read | __sys_recvfrom', {'*': ['ksys_read', '__sys_recvfrom']}),
    ('  vfs_read', {'*': ['vfs_read']}),
    ('  sock_read_iter', {'*': ['sock_read_iter']}),
    ('  sock_recvmsg', {'*': ['sock_recvmsg']}),
    ('  security_socket_recvmsg', {'*': ['security_socket_recvmsg']}),
    ('  recv op: afx_*_recvmsg | pipe_read | unix_*_recvmsg',
     {'afx': ['afx_stream_recvmsg', 'afx_dgram_recvmsg'], 'pipe': ['pipe_read'],
      'unix': ['unix_stream_recvmsg', 'unix_dgram_recvmsg']}),
    ('rw_verify_area + security_file_permission', {'*': ['rw_verify_area']}),
    ('schedule (blocking)', {'*': ['schedule']}),
    ('  of it: wait_woken | prepare_to_wait_event+finish_wait', {'*': ['wait_woken', 'prepare_to_wait_event', 'finish_wait']}),
    ('wakeup: sock_def_readable | __wake_up_sync_key (pipe)',
     {'afx': ['sock_def_readable'], 'unix': ['sock_def_readable'], 'pipe': ['__wake_up_sync_key']}),
    ('  of it: afx_wake_filter | autoremove_wake_function',
     {'afx': ['afx_wake_filter'], 'unix': ['receiver_wake_function', 'autoremove_wake_function'],
      'pipe': ['autoremove_wake_function']}),
    ('  of it: ttwu_do_activate', {'*': ['ttwu_do_activate']}),
    ('syscall_exit_to_user_mode', {'*': ['syscall_exit_to_user_mode']}),
    ('lock_sock_nested', {'*': ['lock_sock_nested']}),
    ('release_sock', {'*': ['release_sock']}),
    ('mutex_lock', {'*': ['mutex_lock']}),
    ('mutex_unlock', {'*': ['mutex_unlock']}),
    ('copy_page_from_iter / _copy_from_iter', {'*': ['copy_page_from_iter', '_copy_from_iter']}),
    ('copy_page_to_iter / _copy_to_iter', {'*': ['copy_page_to_iter', '_copy_to_iter']}),
    ('__check_object_size', {'*': ['__check_object_size']}),
    ('file_update_time / touch_atime', {'*': ['file_update_time', 'touch_atime']}),
    ('__fsnotify_parent', {'*': ['__fsnotify_parent']}),
]
OPS_CHURN = [
    ('socket(2): __sys_socket', {'*': ['__sys_socket']}),
    ('  afx_create | unix_create', {'afx': ['afx_create'], 'unix': ['unix_create']}),
    ('  afx_sk_alloc | unix_create1', {'afx': ['afx_sk_alloc'], 'unix': ['unix_create1']}),
    ('connect(2): __sys_connect', {'*': ['__sys_connect']}),
    ('  afx_stream_connect | unix_stream_connect', {'afx': ['afx_stream_connect'], 'unix': ['unix_stream_connect']}),
    ('accept(2): __sys_accept4', {'*': ['__sys_accept4']}),
    ('  afx_stream_accept | unix_accept', {'afx': ['afx_stream_accept'], 'unix': ['unix_accept']}),
    ('write(2): sock_write_iter', {'*': ['sock_write_iter']}),
    ('  afx_stream_sendmsg | unix_stream_sendmsg', {'afx': ['afx_stream_sendmsg'], 'unix': ['unix_stream_sendmsg']}),
    ('read(2): sock_read_iter', {'*': ['sock_read_iter']}),
    ('  afx_stream_recvmsg | unix_stream_recvmsg', {'afx': ['afx_stream_recvmsg'], 'unix': ['unix_stream_recvmsg']}),
    ('close(2), last fput: ____fput', {'*': ['____fput']}),
    ('  afx_stream_release | unix_release', {'afx': ['afx_stream_release'], 'unix': ['unix_release']}),
    ('  __sk_destruct | sk_free', {'afx': ['__sk_destruct'], 'unix': ['sk_free']}),
    ('RCU callbacks: rcu_do_batch', {'*': ['rcu_do_batch']}),
    ('softirqs: handle_softirqs', {'*': ['handle_softirqs', '__do_softirq']}),
    ('syscall_exit_to_user_mode', {'*': ['syscall_exit_to_user_mode']}),
    ('lock_sock_nested', {'*': ['lock_sock_nested']}),
    ('release_sock', {'*': ['release_sock']}),
]

# --- churn focus groups: ('incl', function) rows, ('self', label, regex) sums
SLAB = r'^(kmem_cache_|__kmem_cache_|kmalloc|__kmalloc|kfree|___slab_alloc|__slab_|slab_|get_partial|put_cpu_partial|__unfreeze|unfreeze|deactivate_slab|allocate_slab|new_slab|discard_slab|cmpxchg_double_slab|cache_from_obj)'
PAGES = r'^(__alloc_pages|alloc_pages|get_page_from_freelist|rmqueue|__rmqueue|free_unref_page|__free_pages|free_pages|__free_one_page|free_pcp|prep_new_page|post_alloc_hook|free_pcppages_bulk|__mod_zone_page_state|policy_node|__zone_watermark_ok|zone_watermark_ok)'
MEMCG = r'^(memcg_|__memcg_|mem_cgroup_|__mem_cgroup_|obj_cgroup_|mod_objcg_|refill_obj_stock|consume_obj_stock|drain_obj_stock|get_obj_cgroup_from_current|__mod_memcg|mod_memcg|page_counter_|__count_memcg|memcg_account_kmem|mod_lruvec|__mod_lruvec|__mod_node_page_state|mod_node_page_state)'
RCU = r'^(call_rcu|__call_rcu|kvfree_call_rcu|rcu_|__rcu_)'


def incls(*fs):
    return [('incl', f) for f in fs]


FOCUS = [
    ('socket registry', incls('afx_sklist_reserve', 'afx_sklist_add', 'afx_sklist_del') + [
        ('self', 'xa_*/xas_* self (all callers)', r'^_*xas?_'),
        ('self', '_raw_spin_(un)lock_bh self', r'^_raw_spin_(un)?lock_bh$')]),
    ('RCU callbacks / teardown', incls('rcu_do_batch', 'run_ksoftirqd', '__sk_destruct', 'afx_sk_destruct',
                                       'unix_sock_destructor', 'sk_free', 'afx_sbuf_purge', 'file_free_rcu',
                                       'inode_free_by_rcu') + [
        ('self', 'RCU self (call_rcu, read side, rcu_*)', RCU)]),
    ('slab', incls('kmem_cache_free', 'kfree', '__slab_free', '___slab_alloc', 'allocate_slab',
                   'kmem_cache_alloc', 'kmem_cache_alloc_lru', '__kmalloc') + [
        ('self', 'slab self (kmem_cache_*, __slab_*, kfree, ...)', SLAB)]),
    ('pages', incls('afx_sbuf_page', 'alloc_pages', 'get_page_from_freelist', 'clear_page_rep',
                    '__free_pages', 'free_unref_page') + [
        ('self', 'page allocator self (excl. clear_page)', PAGES)]),
    ('skb path (AF_UNIX)', incls('sock_alloc_send_pskb', 'consume_skb', 'skb_copy_datagram_iter',
                                 'skb_copy_datagram_from_iter')),
    ('lock_sock', incls('lock_sock_nested', 'release_sock')),
    ('bind / port hash', incls('afx_autobind', 'afx_bind_ephemeral', 'afx_bind_port', 'afx_stream_lookup',
                               'afx_unhash', 'get_random_u32', 'unix_find_other') + [
        ('self', 'hsiphash_* self', r'^hsiphash')]),
    ('memcg', [('self', 'memcg self (memcg_*, mem_cgroup_*, obj_cgroup_*, ...)', MEMCG)] +
        incls('memcg_slab_post_alloc_hook', 'obj_cgroup_charge', '__memcg_kmem_charge_page',
              '__memcg_kmem_uncharge_page', 'mem_cgroup_sk_alloc')),
]

# --- the windows ---------------------------------------------------------------
wins = [line.split() for line in open(f'{d}/windows') if line.strip()]
glines = collections.defaultdict(list)
cur = None
for line in open(f'{d}/guest.log', errors='replace'):
    line = line.strip('\r\n')
    if line.startswith('OWWIN '):
        cur = int(line.split()[1])
    elif cur is not None and (line.startswith('OW ') or line.startswith('PP-RESULT')):
        glines[cur].append(line)


def fam(tr):
    return 'afx' if tr.startswith('afx') else 'pipe' if tr == 'pipe' else 'unix'


W = []
for idx, kind, tr, sz, n in wins:
    i, N = int(idx), int(n)
    S = collections.Counter()
    for line in open(f'{d}/tb.{i}.txt'):
        if line.startswith('#'):
            continue
        a, k, c = line.split()
        S[fn(int(a, 16))] += int(k) * int(c) / N
    I, C, hdr = collections.Counter(), collections.Counter(), ''
    for line in open(f'{d}/cs.{i}.txt'):
        if line.startswith('#'):
            hdr = line[1:].strip()
            continue
        a, c, k = line.split()
        a = int(a, 16)
        if a >= KERNEL and a not in syms:
            continue  # a frame retargeted by a retpoline into a function's middle
        f = fn(a)
        I[f] += int(k) / N
        C[f] += int(c) / N
    w = dict(i=i, kind=kind, tr=tr, sz=sz, N=N, fam=fam(tr), S=S, I=I, C=C, hdr=hdr,
             tot=sum(S.values()), g=glines[i],
             group=f'{kind}-{sz}' + ('-dgram' if tr.endswith('dg') else ''))
    W.append(w)
    base = f'{d}/out/{w["group"]}.{tr}'
    with open(base + '.self.txt', 'w') as o:
        o.write(f'# {kind} {tr} {sz} B: self instructions per op (N={N}), total {w["tot"]:.0f}\n')
        for f, v in S.most_common():
            if v >= 0.5:
                o.write(f'{v:10.1f}  {f:<50} {cat(f)}\n')
    with open(base + '.incl.txt', 'w') as o:
        o.write(f'# {kind} {tr} {sz} B: inclusive instructions per op (callstk.so, N={N}); {hdr}\n')
        o.write('%10s %8s %9s %9s  %s\n' % ('incl/op', 'calls/op', 'per call', 'self/op', 'function'))
        for f, v in I.most_common():
            if v >= 1:
                o.write(f'{v:10.1f} {C[f]:8.2f} {v / C[f] if C[f] else 0:9.1f} {S[f]:9.1f}  {f}\n')


def incl(w, f):
    return w['I'][f] or w['I'][f + ' [afx]']


def calls(w, f):
    return w['C'][f] or w['C'][f + ' [afx]']


def opval(w, spec):
    fs = spec.get(w['fam'], spec.get('*', []))
    return sum(incl(w, f) for f in fs), sum(calls(w, f) for f in fs)


def selfsum(w, rx):
    return sum(v for f, v in w['S'].items() if re.match(rx, f))


# --- the report ------------------------------------------------------------------
out, short_out = [], []


def p(line, keep=False):
    out.append(line)
    if keep:
        short_out.append(line)


p(f'# bench/prof/summary.py {d}: instructions per op (icount: 1 ns = 1 instruction)', True)
if os.path.exists(f'{d}/commit'):
    p(f'# tree {open(f"{d}/commit").read().strip()}', True)
p('# op: churn = one connection cycle; two = one message, writer and reader processes;')
p('#     self = one send + one receive in one process; pp = one 64 B round trip')
p('# self: instructions executed in the function itself; incl: with its callees, in the same task')

groups = collections.OrderedDict()
for w in W:
    groups.setdefault(w['group'], []).append(w)
ORDER = {'afx': 0, 'pipe': 1, 'unix': 2}
for gname, ws in groups.items():
    ws.sort(key=lambda w: (ORDER[w['fam']], w['i']))
    names = [w['tr'] for w in ws]
    a = ws[0] if ws[0]['fam'] == 'afx' else None
    ref = next((w for w in ws if w['fam'] == 'pipe'), None) or next((w for w in ws if w['fam'] == 'unix'), None)
    if a is None or ref is None or ref is a:
        ref = None
    rn = f'{a["tr"]}-{ref["tr"]}' if ref else ''
    kind = ws[0]['kind']

    def table(title, width, vals, order_keys, keep=False):
        p('', keep)
        p(f'  {title:<{width}}' + ''.join(f'{n:>9}' for n in names) + (f'{rn:>14}' if ref else ''), keep)
        for c in order_keys:
            p(f'  {c[:width]:<{width}}' + ''.join(f'{vals[k][c]:9.0f}' for k in range(len(ws))) +
              (f'{vals[0][c] - vals[ws.index(ref)][c]:+14.0f}' if ref else ''), keep)

    p('', True)
    p('=' * 100)
    p(f'== {gname} (N={ws[0]["N"]}): ' + ', '.join(f'{w["tr"]} {w["tot"]:.0f}' for w in ws) +
      (f'   ({a["tr"]}/{ref["tr"]} {a["tot"] / ref["tot"]:.3f})' if ref else ''), True)
    for w in ws:
        p(f'   [{w["i"]}] {w["tr"]}: callstk {w["hdr"]}')
        if 'two-stack toggle' in w['hdr']:
            p('   WARNING: callstk.so did not find the task switch: inclusive counts mix tasks')
        for line in w['g']:
            p('   ' + line)
        rd = [x for x in w['g'] if x.startswith('OW reader ')]
        wr = [x for x in w['g'] if x.startswith('OW writer ')]
        m = re.search(r': (\d+) reads \(([\d.]+) msgs/read\), vcsw (\d+) ivcsw (\d+)', rd[0]) if rd else None
        mw = re.search(r'vcsw (\d+) ivcsw (\d+)', wr[0]) if wr else None
        if m and mw:
            N = w['N']
            reads, rv, ri, wv, wi = int(m[1]), int(m[3]), int(m[4]), int(mw[1]), int(mw[2])
            p(f'     -> {reads / N:.3f} reads/msg, {N / max(rv, 1):.1f} msgs per reader wakeup (reader vcsw), '
              f'{(rv + ri + wv + wi) / N:.3f} context switches/msg (reader {rv}+{ri}, writer {wv}+{wi})')
            h = [x for x in w['g'] if x.startswith('OW reader-hist')]
            one = re.search(r' <=1 (\d+) \((\d+)\)', h[0]) if h else None
            if one:
                p(f'     -> {int(one[1])} reads of 1 message ({int(one[2]) / N * 100:.0f}% of the messages '
                  f'got a wakeup each); the other {N - int(one[2])} in {reads - int(one[1])} reads')

    ct = [collections.Counter() for _ in ws]
    lt = [collections.Counter() for _ in ws]
    for k, w in enumerate(ws):
        for f, v in w['S'].items():
            ct[k][cat(f)] += v
            lt[k][layer(f)] += v
    keys = [c for c in sorted([c for c, _, _ in CATS] + ['other'], key=lambda c: -max(x[c] for x in ct))
            if max(x[c] for x in ct) >= 0.5]
    for k, w in enumerate(ws):
        ct[k]['TOTAL'] = w['tot']
    table('category (self)', 40, ct, keys + ['TOTAL'], True)
    keys = [c for c in sorted(set().union(*lt), key=lambda c: -max(x[c] for x in lt))
            if max(x[c] for x in lt) >= 0.5]
    table('layer (self)', 62, lt, keys)

    p('')
    p(f'  {"operation, inclusive (calls/op)":<62}' + ''.join(f'{n:>15}' for n in names))
    for label, spec in (OPS_CHURN if kind == 'churn' else OPS_IO):
        vals = [opval(w, spec) for w in ws]
        if max(v for v, _ in vals) < 0.5:
            continue
        p(f'  {label[:62]:<62}' + ''.join(f'{v:9.0f} ({c:3.1f})' if c else f'{v:9.0f}      ' for v, c in vals))

    if kind == 'churn':
        p('')
        p(f'  {"focus group (incl: inclusive, calls in brackets)":<62}' + ''.join(f'{n:>9}' for n in names) +
          (f'{rn:>14}' if ref else ''))
        for title, rows in FOCUS:
            lines = []
            for r in rows:
                if r[0] == 'incl':
                    f = r[1]
                    v = [incl(w, f) for w in ws]
                    note = '  [' + ' / '.join(f'{calls(w, f):.2f}' for w in ws) + ' calls]'
                    if max(v) < 0.5:  # never entered by a call: jumped to, or inlined
                        v = [w['S'][f] + w['S'][f + ' [afx]'] for w in ws]
                        f, note = f + ' self (no frames)', ''
                    else:
                        f += ' incl'
                else:
                    f, v, note = r[1], [selfsum(w, r[2]) for w in ws], ''
                if max(v) >= 0.5:
                    lines.append(f'    {f[:60]:<60}' + ''.join(f'{x:9.0f}' for x in v) +
                                 (f'{v[0] - v[ws.index(ref)]:+14.0f}' if ref else '') + note)
            if lines:
                p(f'  {title}')
                out.extend(lines)

    if a:
        p('')
        p(f'  afx.ko ({a["tr"]}): {"self":>8} {"incl":>8} {"calls":>6}  function')
        afs = sorted({f for f in set(a['S']) | set(a['I']) if f.endswith('[afx]')},
                     key=lambda f: -(a['I'][f] or a['S'][f]))
        p(f'  {"":<12}{sum(a["S"][f] for f in afs):8.0f}                TOTAL self')
        afs = [f for f in afs if max(a['S'][f], a['I'][f]) >= 1]
        for f in afs[:30]:
            p(f'  {"":<12}{a["S"][f]:8.0f} {a["I"][f]:8.0f} {a["C"][f]:6.2f}  {short(f)}')
        if len(afs) > 30:
            p(f'  {"":<12}... {len(afs) - 30} more in out/{gname}.{a["tr"]}.incl.txt and .self.txt')

    if a and ref:
        allf = set(a['S']) | set(ref['S']) | set(a['I']) | set(ref['I'])
        rows = sorted(allf, key=lambda f: (-abs(a['S'][f] - ref['S'][f]), f))
        p('')
        p(f'  largest self differences {a["tr"]} - {ref["tr"]} '
          f'[inclusive and calls/op: {a["tr"]} | {ref["tr"]}]:')
        for f in rows[:32]:
            p(f'    {short(f)[:40]:<40} {a["S"][f]:7.0f} {ref["S"][f]:7.0f} {a["S"][f] - ref["S"][f]:+7.0f}   '
              f'[{a["I"][f]:6.0f} {a["C"][f]:4.1f} | {ref["I"][f]:6.0f} {ref["C"][f]:4.1f}]  {cat(f)}')
        for o in ws[1:]:
            with open(f'{d}/out/{gname}.{a["tr"]}-vs-{o["tr"]}.txt', 'w') as fo:
                fo.write(f'# {gname}: {a["tr"]} against {o["tr"]}, per op; by the self difference\n')
                fo.write('%-50s %9s %9s %9s  %9s %6s %9s %6s  %s\n' % (
                    'function', 'self ' + a['tr'][:4], 'self ' + o['tr'][:4], 'diff', 'incl', 'calls',
                    'incl', 'calls', 'category'))
                fo.write('%-50s %9.0f %9.0f %+9.0f\n' % ('TOTAL', a['tot'], o['tot'], a['tot'] - o['tot']))
                allf = set(a['S']) | set(o['S']) | set(a['I']) | set(o['I'])
                for f in sorted(allf, key=lambda f: (-abs(a['S'][f] - o['S'][f]), f)):
                    if max(a['S'][f], o['S'][f], a['I'][f], o['I'][f]) < 0.5:
                        continue
                    fo.write('%-50s %9.1f %9.1f %+9.1f  %9.1f %6.2f %9.1f %6.2f  %s\n' % (
                        f[:50], a['S'][f], o['S'][f], a['S'][f] - o['S'][f],
                        a['I'][f], a['C'][f], o['I'][f], o['C'][f], cat(f)))
print('\n'.join(short_out if brief else out))
