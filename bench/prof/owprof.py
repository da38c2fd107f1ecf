#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# owprof.py DIR N NAME0 NAME1: self (tb.I.txt) and inclusive (cs.I.txt)
# instructions per op by function, and per category, for two windows of
# tbcount.so/callstk.so, named from DIR/kallsyms. Writes DIR/out/*.
import bisect, collections, os, re, sys
d, N, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:5]
os.makedirs(f'{d}/out', exist_ok=True)
syms = {}
for l in open(f'{d}/kallsyms'):
    p = l.split()
    if len(p) < 3 or p[1] not in 'tTwW': continue
    a = int(p[0], 16); n = p[2] + (' ' + p[3] if len(p) > 3 else '')
    if a not in syms or syms[a].startswith('__') and not n.startswith('__'): syms[a] = n
sa = sorted(syms); sn = [syms[a] for a in sa]
def fn(a):
    if a < 0xffff800000000000: return '[user]'
    i = bisect.bisect_right(sa, a) - 1
    return sn[i] if i >= 0 else '?%x' % a
def self_counts(i):
    c = collections.Counter()
    for l in open(f'{d}/tb.{i}.txt'):
        if l.startswith('#'): continue
        a, n, cnt = l.split(); c[fn(int(a, 16))] += int(n) * int(cnt)
    return c
cats = [
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
def cat(f):
    for c, rx in cats:
        if re.match(rx, f): return c
    return 'other'
res = [self_counts(i) for i in range(2)]
tot = [sum(r.values()) / N for r in res]
w = max(len(n) for n in names) + 2
with open(f'{d}/out/self.txt', 'w') as o:
    o.write(f'# self instructions per op (N={N}); totals: ' + ', '.join(f'{names[i]} {tot[i]:.0f}' for i in range(2)) + '\n')
    allf = set(res[0]) | set(res[1])
    o.write('%-50s %10s %10s %10s  %s\n' % ('function', names[0], names[1], 'diff', 'category'))
    o.write('%-50s %10.0f %10.0f %10.0f\n' % ('TOTAL', tot[0], tot[1], tot[0] - tot[1]))
    for f in sorted(allf, key=lambda f: -max(res[0][f], res[1][f])):
        v = [res[i][f] / N for i in range(2)]
        if max(v) < 1: continue
        o.write('%-50s %10.1f %10.1f %10.1f  %s\n' % (f[:50], v[0], v[1], v[0] - v[1], cat(f)))
with open(f'{d}/out/top25.txt', 'w') as o:
    o.write(f'# top-25 self cost per op (N={N})\n')
    o.write('%4s  %-38s %8s   %-38s %8s\n' % ('#', names[0], 'instr', names[1], 'instr'))
    t = [res[i].most_common(25) for i in range(2)]
    for k in range(25):
        o.write('%4d  %-38s %8.0f   %-38s %8.0f\n' % (k + 1, t[0][k][0][:38], t[0][k][1] / N, t[1][k][0][:38], t[1][k][1] / N))
with open(f'{d}/out/diff.txt', 'w') as o:
    o.write(f'# functions by self-cost difference {names[0]} - {names[1]} per op\n')
    allf = set(res[0]) | set(res[1])
    for f in sorted(allf, key=lambda f: -(res[0][f] - res[1][f])):
        v = [res[i][f] / N for i in range(2)]
        if abs(v[0] - v[1]) < 10: continue
        o.write('%-50s %10.1f %10.1f %+10.1f\n' % (f[:50], v[0], v[1], v[0] - v[1]))
with open(f'{d}/out/cats.txt', 'w') as o:
    ct = [collections.Counter(), collections.Counter()]; oth = [collections.Counter(), collections.Counter()]
    for i in range(2):
        for f, v in res[i].items():
            c = cat(f); ct[i][c] += v / N
            if c == 'other': oth[i][f] += v / N
    o.write('%-62s %10s %10s %10s\n' % ('category (self instr/op)', names[0], names[1], 'diff'))
    for c in [c for c, _ in cats] + ['other']:
        o.write('%-62s %10.0f %10.0f %+10.0f\n' % (c[:62], ct[0][c], ct[1][c], ct[0][c] - ct[1][c]))
    o.write('%-62s %10.0f %10.0f %+10.0f\n' % ('TOTAL', tot[0], tot[1], tot[0] - tot[1]))
    for i in range(2):
        o.write(f'\nother ({names[i]}): ' + ', '.join(f'{k} {v:.0f}' for k, v in oth[i].most_common(25)) + '\n')
with open(f'{d}/out/afxko.txt', 'w') as o:
    o.write(f'# afx.ko functions, self instructions per op ({names[0]}, N={N})\n')
    afx = [(f, v) for f, v in res[0].items() if f.endswith('[afx]')]
    o.write('%10.1f  TOTAL afx.ko\n' % (sum(v for _, v in afx) / N))
    for f, v in sorted(afx, key=lambda x: -x[1]):
        o.write('%10.1f  %s\n' % (v / N, f))
# inclusive
for i in range(2):
    p = f'{d}/cs.{i}.txt'
    if not os.path.exists(p): continue
    dd = collections.defaultdict(lambda: [0, 0]); hdr = ''
    for l in open(p):
        if l.startswith('#'): hdr = l.strip(); continue
        a, c, inc = l.split(); a = int(a, 16); n = fn(a)
        if a >= 0xffff800000000000 and a not in syms: n += '+0x%x' % (a - sa[bisect.bisect_right(sa, a) - 1])
        dd[n][0] += int(c); dd[n][1] += int(inc)
    with open(f'{d}/out/incl.{names[i]}.txt', 'w') as o:
        o.write(f'# {names[i]}: inclusive instructions per op (callstk.so, N={N}); {hdr}\n')
        o.write('%10s %8s %9s  %s\n' % ('incl/op', 'calls/op', 'per call', 'function'))
        for n, (c, inc) in sorted(dd.items(), key=lambda x: -x[1][1]):
            if inc / N < 20: continue
            o.write('%10.1f %8.2f %9.1f  %s\n' % (inc / N, c / N, inc / c, n))
print('totals', names, [round(t) for t in tot])
