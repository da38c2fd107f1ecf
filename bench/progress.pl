#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# The progress line of `make bench`: reads a guest's serial console on
# stdin (scripts/vm.sh keeps the full log) and shows one line that says
# which cell runs, how far the pass is, and an estimate of the time left.
# Failures, warnings and the guest's verdicts are printed as they come.
#
#   scripts/vm.sh bench ... | perl bench/progress.pl LABEL
use strict;
use warnings;

my $label = shift // 'guest';
my $tty = -t STDOUT;
my ($pass_start, $pass_total, $last_print, $shown) = (0, 0, 0, 0);
$| = 1;

sub fmt_time {
	my $s = int(shift);
	return sprintf('%dm%02ds', $s / 60, $s % 60) if $s >= 60;
	return "${s}s";
}

sub clear_line { print "\r\033[K" if $tty && $shown; $shown = 0; }

my $boot = time;
while (my $line = <STDIN>) {
	$line =~ s/\r//g;
	chomp $line;
	if ($line =~ m{afx-bench: \[\s*(\d+)/(\d+)\] (.*)}) {
		my ($n, $total, $what) = ($1, $2, $3);
		my $now = time;
		if ($n == 1 || $total != $pass_total) {
			$pass_start = $now;
			$pass_total = $total;
		}
		my $el = $now - $pass_start;
		my $eta = $n > 1 ? $el / ($n - 1) * ($total - $n + 1) : 0;
		my $msg = sprintf('[%s %s] %d/%d %s, %s left', $label,
				  fmt_time($now - $boot), $n, $total, $what,
				  $n > 1 ? fmt_time($eta) : '?');
		if ($tty) {
			my $cols = $ENV{COLUMNS} || 120;
			print "\r\033[K", substr($msg, 0, $cols - 1);
			$shown = 1;
		} elsif ($now - $last_print >= 15 || $n == $total || $n == 1) {
			print "$msg\n";
			$last_print = $now;
		}
		next;
	}
	if ($line =~ /^(AFX-BENCH-(VALIDATE|DMESG|EXIT)|AFX-GUEST-(START|EXIT))|afx-bench: (FAILED|failure|transport .*UNAVAILABLE)|^bench: |Kernel panic|BUG:|WARNING:|Oops|^=== /) {
		clear_line();
		print "$line\n";
	}
}
clear_line();
