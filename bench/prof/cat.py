# SPDX-License-Identifier: GPL-2.0
import re
cats = [
 ('user space', r'^\[user\]$'),
 ('syscall entry/exit (asm, do_syscall_64, exit work, rseq, fpu restore)', r'^(entry_SYSCALL_64.*|entry_SYSRETQ.*|syscall_return_via_sysret|do_syscall_64|syscall_enter_from_user_mode|syscall_exit_to_user_mode.*|exit_to_user_mode_prepare|x64_sys_call|__x64_sys_.*|fpregs_assert_state_consistent|__rseq_handle_notify_resume|mem_cgroup_handle_over_high|blkcg_maybe_throttle_current|switch_fpu_return|restore_fpregs_from_fpstate|__get_user_8|__put_user_.*|amd_clear_divider|__static_call_text_end|__x86_indirect_thunk.*|__cond_resched)$'),
 ('LSM (security_*, apparmor, tomoyo, bpf_lsm)', r'^(security_.*|apparmor_.*|aa_.*|tomoyo_.*|bpf_lsm_.*)$'),
 ('context switch (__schedule & co, psi, cfs dequeue/pick)', r'^(__schedule|schedule|schedule_timeout|psi_.*|record_times|__update_load_avg.*|update_load_avg|update_curr|dequeue_.*|pick_next_.*|put_prev_entity|set_next_entity|__switch_to.*|switch_mm_irqs_off|load_new_mm_cr3|switch_ldt|cr4_update_irqsoff|native_load_.*|asm_load_gs_index|save_fpregs_to_fpstate|finish_task_switch.*|rcu_note_context_switch|native_sched_clock|sched_clock.*|update_rq_clock|clear_buddies|check_spread.*|check_cfs_rq_runtime|hrtick_update|rb_.*|_find_first_bit|cpuacct_charge|update_cfs_group|update_min_vruntime|invalidate_user_asid|native_write_msr|pick_next_entity|__cgroup_account_cputime.*|__cgroup_rstat.*)$'),
 ('wakeup (try_to_wake_up, enqueue, wait-queue walk)', r'^(try_to_wake_up|ttwu_.*|check_preempt_.*|place_entity|enqueue_.*|__wake_up_.*|default_wake_function|woken_wake_function|autoremove_wake_function|afx_wake_filter.*|sock_def_readable|__list_add_valid|__list_del_entry_valid|resched_curr|select_task_rq.*|__enqueue_entity|reweight_entity|sched_mm_cid.*)$'),
 ('sleep bookkeeping (wait queues, wait_woken/prepare_to_wait)', r'^(add_wait_queue|remove_wait_queue|wait_woken|prepare_to_wait.*|finish_wait|init_wait_entry)$'),
 ('locks (spinlocks, bh, mutex, lock_sock, rcu)', r'^(_raw_spin.*|__local_bh_enable_ip|lock_sock_nested|release_sock|mutex_.*|__rcu_read_.*)$'),
 ('copy (iov_iter, copy_user, usercopy checks)', r'^(_copy_to_iter|_copy_from_iter|copy_page_to_iter|copy_page_from_iter|copy_user_generic_string|page_copy_sane|__check_object_size|check_stack_object|__virt_addr_valid|__check_heap_object|is_vmalloc_addr|skb_copy_datagram.*|__skb_datagram_iter|simple_copy_to_iter)$'),
 ('socket/VFS syscall layer (fd lookup, import_single_range, vfs_*, time updates)', r'^(__sys_sendto|__sys_recvfrom|sockfd_lookup_light|__fdget.*|__fget_light|import_single_range|sock_recvmsg|__sock_sendmsg|sock_sendmsg|ksys_read|ksys_write|vfs_read|vfs_write|rw_verify_area|file_update_time|touch_atime|atime_needs_update|current_time|ktime_get_coarse_real_ts64|__get_task_ioprio|inode_needs_update_time.*|__fsnotify_parent|fsnotify.*|__f_unlock_pos|fput|mnt_.*|sb_.*|__sb_.*)$'),
 ('afx module', r'.*\[afx\]$'),
 ('pipe fs', r'^(pipe_.*|anon_pipe_buf_.*|generic_pipe_buf.*)$'),
 ('af_unix + skb', r'^(unix_.*|scm_.*|.*skb.*|sock_alloc_send_pskb|kmem_cache_.*|__kmem_cache_.*|kmalloc_.*|__kmalloc.*|memcg_slab.*|cache_from_obj|kfree|sock_wfree|memset|maybe_add_creds|put_pid|skb_.*|__slab_free|obj_cgroup.*|mod_objcg.*|refill_obj_stock|consume_obj_stock|__build_skb_around|get_obj_cgroup_from_current|should_failslab|__memcg_slab.*|kfree_skbmem|memcg_.*)$'),
]
N = 1
for t in ['afx', 'unix', 'pipe']:
    tot = {}; other = {}
    for l in open(f'/tmp/prof/out/self.{t}.txt'):
        if l.startswith('#'): continue
        v, f = l.strip().split(None, 1); v = float(v)
        for c, rx in cats:
            if re.match(rx, f): tot[c] = tot.get(c, 0) + v; break
        else: other[f] = v
    print(f'== {t}: total {sum(tot.values()) + sum(other.values()):.0f}')
    for c, _ in cats:
        if tot.get(c): print(f'  {tot[c]:7.0f}  {c}')
    print(f'  {sum(other.values()):7.0f}  other: ' + ', '.join(f'{k} {v:.0f}' for k, v in sorted(other.items(), key=lambda x: -x[1])[:12]))
