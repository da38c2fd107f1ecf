#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# The report of `make bench`, from the guests' serial logs:
#
#   OUT/summary.csv     mode,workload,size,transport,metric,value,ratio_unix,
#                       ratio_pipe,spread_pct,reps (medians over repetitions)
#   OUT/raw.csv         every repetition
#   OUT/validation.txt  the --validate passes
#   OUT/real.csv        real programs over TCP, AF_UNIX and AF_X
#                       (bench/real.sh): mode,program,workload,transport,
#                       metric,value
#   OUT/*.png           plots (bench/*.gp through gnuplot)
#   stdout              the human table
#   Documentation/performance.rst (unless AFX_BENCH_PAGE=0), with the
#                       plots copied to Documentation/performance/
#
#   perl bench/report.pl --out DIR LOG...
#
# Environment: AFX_QEMU_VERSION, AFX_BENCH_SECONDS (set by scripts/bench.sh).
# Exit status 1 when a guest did not finish, a validation or a cell
# failed, or the kernel logged a warning; never because of a ratio.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use POSIX qw(strftime);

my $out = 'bench-results';
my @logs;
while (@ARGV) {
	my $a = shift;
	if ($a eq '--out') { $out = shift; }
	else { push @logs, $a; }
}
my $root = dirname(dirname(__FILE__));
chdir $root or die "chdir $root: $!";
make_path($out);

# --- constants ---------------------------------------------------------------

# The transports in the order of afx-bench's table, the one list of them
# (transports[] in bench/afx-bench.c), then any other the results name.
my @TRANSPORTS;
sub add_transport {
	my $t = shift;
	push @TRANSPORTS, $t unless grep { $_ eq $t } @TRANSPORTS;
}
if (open(my $fh, '<', 'bench/afx-bench.c')) {
	my $table;
	while (<$fh>) {
		$table = 1 if /^static const struct transport transports\[\] = \{/;
		next unless $table;
		last if /^\};/;
		add_transport($1) if /^\t\{ "([\w-]+)",/;
	}
	close $fh;
}
# Each AF_X transport against an alternative: the columns of the headline
# table (flag 1; those of the AF_X transports that ran) and the lines of
# the cell-by-cell text (all).
my @VERSUS = (
	['afx-stream', 'unix-stream', 1], ['afx-stream', 'unix-seqpacket', 1],
	['afx-stream', 'pipe', 1], ['afx-stream', 'tcp', 1], ['afx-stream', 'vsock', 1],
	['afx-dgram', 'unix-dgram', 1], ['afx-dgram', 'unix-seqpacket', 0],
	['afx-dgram', 'udp', 1],
	['afx-seqpacket', 'unix-seqpacket', 1],
);
my @WORKLOADS = qw(W1 W2 W3 W4 W5-pairs W5-idle W6);
my %WL_TITLE = (
	'W1' => 'W1 ping-pong round trip, one message in flight',
	'W2' => 'W2 one-way byte stream',
	'W3' => 'W3 one-way datagrams (every size checked)',
	'W4' => 'W4 connection churn (connect, 1-byte request/reply, close)',
	'W5-pairs' => 'W5 N ping-pong pairs at once (64-byte messages)',
	'W5-idle' => 'W5 round trip (64 B) with idle connections open',
	'W6' => 'W6 connection churn (W4) with N other sockets bound and listening',
);
my %PRIMARY = (
	'W1' => 'rtt_p50_ns', 'W2' => 'MiB_s', 'W3' => 'msgs_s',
	'W4' => 'conns_s', 'W5-pairs' => 'roundtrips_s', 'W5-idle' => 'rtt_p50_ns',
	'W6' => 'conns_s',
);
my %LOWER_BETTER = map { $_ => 1 }
	qw(rtt_p50_ns rtt_p90_ns rtt_p99_ns rtt_p999_ns rtt_max_ns lost_pct
	   idle_kmem_B);
my %UNIT = (
	rtt_p50_ns => 'us', rtt_p90_ns => 'us', rtt_p99_ns => 'us',
	rtt_p999_ns => 'us', rtt_max_ns => 'us', MiB_s => 'MiB/s',
	msgs_s => 'msgs/s', conns_s => 'conn/s', roundtrips_s => 'round trips/s',
	lost_pct => '%', idle_kmem_B => 'bytes',
);
my @MODE_ORDER = qw(icount wall-same wall-split wall-spread);
my %MODE_TEXT = (
	'icount' => 'instruction counting (-icount shift=0,sleep=off, 1 vCPU): '
		. 'guest time is instructions executed, 1 ns per instruction',
	'wall-same' => 'wall clock, 2 vCPUs, both endpoints pinned to vCPU 0',
	'wall-split' => 'wall clock, 2 vCPUs, client on vCPU 0, server on vCPU 1',
	'wall-spread' => 'wall clock, 2 vCPUs, both ends of pair i on vCPU i mod 2 '
		. '(W5-pairs only)',
);

# --- read the logs -------------------------------------------------------------

my (%info, %files, %status, @problems);
for my $log (@logs) {
	my $mode = $log =~ /guest-([\w-]+)\.log$/ ? $1 : $log;
	open(my $fh, '<', $log) or do {
		push @problems, "$mode: no log ($log)";
		next;
	};
	my ($block, @lines);
	$status{$mode} = { exit => undef, validate => undef, dmesg => undef };
	while (my $l = <$fh>) {
		$l =~ s/\r//g;
		chomp $l;
		if ($l =~ /^AFX-BENCH-BEGIN (\S+)$/) { $block = $1; @lines = (); next; }
		if (defined $block && $l =~ /^AFX-BENCH-END \Q$block\E$/) {
			$files{$mode}{$block} = [@lines];
			undef $block;
			next;
		}
		if (defined $block) { push @lines, $l; next; }
		$status{$mode}{exit} = $1 if $l =~ /^AFX-BENCH-EXIT: mode=\S+ rc=(\d+)/;
		$status{$mode}{validate} = $1 if $l =~ /^AFX-BENCH-VALIDATE: mode=\S+ rc=(\d+)/;
		$status{$mode}{dmesg} = $1 if $l =~ /^AFX-BENCH-DMESG: (\S+)/;
		$status{$mode}{guest_seconds} = $2 - $1
			if $l =~ /^AFX-BENCH-GUEST-SECONDS: ([\d.]+) ([\d.]+)/;
		$status{$mode}{real} = $1 if $l =~ /^AFX-BENCH-REAL: mode=\S+ rc=(\d+)/;
	}
	close $fh;
	for (@{ $files{$mode}{'info.txt'} // [] }) {
		$info{$mode}{$1} = $2 if /^(\w+)=(.*)$/;
	}
	my $st = $status{$mode};
	push @problems, "$mode: the guest did not finish (see $log)" unless defined $st->{exit};
	push @problems, "$mode: the --validate pass failed (see $out/validation.txt)"
		if defined $st->{validate} && $st->{validate} != 0;
	push @problems, "$mode: the kernel logged warnings (see $log)"
		if defined $st->{dmesg} && $st->{dmesg} ne 'clean';
	push @problems, "$mode: a real-program run failed (see $log)"
		if defined $st->{real} && $st->{real} != 0;
	for (@{ $files{$mode}{'bench.txt'} // [] }) {
		push @problems, "$mode: $1" if /^afx-bench: failure: (.*)/;
		push @problems, "$mode: transport $1 unavailable: $2"
			if /^afx-bench: transport (\S+)\s+UNAVAILABLE: (.*)/;
	}
}

# --- real programs (bench/real.sh) ---------------------------------------------------

# $REAL{mode}{program}{workload}{transport} = requests/s
my %REAL;
my @REAL_TRANSPORTS = (['tcp', 'TCP'], ['unix', 'AF_UNIX'], ['afx', 'AF_X (afx-run)']);
for my $mode (sort keys %files) {
	for (@{ $files{$mode}{'real.csv'} // [] }) {
		my (undef, $prog, $wl, $t, $metric, $v) = split /,/;
		$REAL{$mode}{$prog}{$wl}{$t} = $v if defined $v && $metric eq 'req_s';
	}
}

# The order of the rows: Redis's tests as redis-benchmark runs them, then
# pipelined; nginx with keep-alive, then a connection per request.
sub real_order {
	my ($prog, $wl) = @_;
	my %o = (ping_inline => 1, ping_mbulk => 2, set => 3, get => 4,
		 keepalive => 1, close => 2);
	my ($name, $p) = $wl =~ /^(\w+?)(?:-P(\d+))?$/;
	return (($p // 1) * 10 + ($o{$name} // 9));
}

sub real_label {
	my ($prog, $wl) = @_;
	return "nginx + curl, keep-alive" if $prog eq 'nginx' && $wl eq 'keepalive';
	return "nginx + curl, a connection each" if $prog eq 'nginx' && $wl eq 'close';
	my ($name, $p) = $wl =~ /^(\w+?)(?:-P(\d+))?$/;
	return "redis-benchmark " . uc($name) . (($p // 1) > 1 ? ", -P $p" : '');
}

sub real_rows {
	my $mode = shift;
	my $r = $REAL{$mode} or return ();
	my @rows = (['program, workload (requests/s)', (map { $_->[1] } @REAL_TRANSPORTS),
		     'AF_X / TCP', 'AF_X / AF_UNIX']);
	for my $prog (sort keys %$r) {
		for my $wl (sort { real_order($prog, $a) <=> real_order($prog, $b) }
			    keys %{ $r->{$prog} }) {
			my $c = $r->{$prog}{$wl};
			my @v = map { $c->{$_->[0]} } @REAL_TRANSPORTS;
			my $ratio = sub {
				my $d = shift;
				return defined $c->{afx} && $d ? sprintf('%.2fx', $c->{afx} / $d) : '-';
			};
			push @rows, [real_label($prog, $wl),
				     (map { defined $_ ? sprintf('%.0f', $_) : '-' } @v),
				     $ratio->($c->{tcp}), $ratio->($c->{unix})];
		}
	}
	return @rows;
}

if (%REAL) {
	open(my $rf, '>', "$out/real.csv") or die "$out/real.csv: $!";
	print $rf "mode,program,workload,transport,metric,value\n";
	for my $mode (sort keys %REAL) {
		print $rf "$_\n" for @{ $files{$mode}{'real.csv'} };
	}
	close $rf;
}

# --- CSV ------------------------------------------------------------------------

# The host while each guest ran (scripts/bench.sh): seconds, CPUs, mean
# load average.
my %HOST;
if (open(my $fh, '<', "$out/host.txt")) {
	while (<$fh>) {
		my %kv = /(\w+)=(\S+)/g;
		$HOST{$kv{mode}} = \%kv if $kv{mode};
	}
	close $fh;
}

sub host_text {
	my $m = shift;
	my $h = $HOST{$m} or return '';
	return sprintf('the %s guest ran %d min %02d s; mean host load average %s on %s CPUs',
		       $m, $h->{seconds} / 60, $h->{seconds} % 60, $h->{load} // '?',
		       $h->{host_cpus} // '?');
}

# Median spread of the reference transports' primary metric in a mode.
sub mode_noise {
	my $mode = shift;
	my @sp;
	for my $w (@WORKLOADS) {
		for my $s (sizes_of($mode, $w)) {
			for my $t (qw(unix-stream unix-dgram pipe tcp)) {
				my $c = get($mode, $w, $s, $t, $PRIMARY{$w});
				push @sp, $c->{sp} if $c && $c->{n} > 1;
			}
		}
	}
	return median(@sp);
}

# The previous run's summary (scripts/bench.sh keeps it), to show how
# well the numbers repeat from one make bench to the next.
my %PREV;
if (open(my $fh, '<', "$out/previous-summary.csv")) {
	while (<$fh>) {
		chomp;
		my ($mode, $w, $size, $t, $m, $v) = split /,/;
		next unless defined $v && $v =~ /^[-\d.e+]+$/;
		$PREV{$mode}{$w}{$size}{$t}{$m} = $v;
	}
	close $fh;
}

my $CSV_RE = qr/^[\w-]+,W[\w-]+,\d+,[\w-]+,\w+,[-\d.e+naif]+,[-\d.e+naif]*,[-\d.e+naif]*,[\d.]+,\d+$/;
my $RAW_RE = qr/^[\w-]+,W[\w-]+,\d+,[\w-]+,\d+,\w+,[-\d.e+naif]+$/;
my (%S, @modes);
open(my $sum, '>', "$out/summary.csv") or die "$out/summary.csv: $!";
print $sum "mode,workload,size,transport,metric,value,ratio_unix,ratio_pipe,spread_pct,reps\n";
open(my $raw, '>', "$out/raw.csv") or die "$out/raw.csv: $!";
print $raw "mode,workload,size,transport,rep,metric,value\n";
for my $log_mode (sort keys %files) {
	for (@{ $files{$log_mode}{'summary.csv'} // [] }) {
		next unless /$CSV_RE/;
		print $sum "$_\n";
		my ($mode, $w, $size, $t, $m, $v, $ru, $rp, $sp, $n) = split /,/;
		$S{$mode}{$w}{$size}{$t}{$m} = {
			v => $v, ru => $ru, rp => $rp, sp => $sp, n => $n,
		};
		push @modes, $mode unless grep { $_ eq $mode } @modes;
		add_transport($t);
	}
	for (@{ $files{$log_mode}{'raw.csv'} // [] }) {
		print $raw "$_\n" if /$RAW_RE/;
	}
}
close $sum;
close $raw;
@modes = sort { mode_rank($a) <=> mode_rank($b) } @modes;

sub mode_rank {
	my $m = shift;
	for my $i (0 .. $#MODE_ORDER) { return $i if $MODE_ORDER[$i] eq $m; }
	return 99;
}

open(my $val, '>', "$out/validation.txt") or die "$out/validation.txt: $!";
for my $mode (sort keys %files) {
	print $val "==== $mode\n", map { "$_\n" } @{ $files{$mode}{'validate.txt'} // ['(no validation pass)'] };
}
close $val;

# --- helpers ------------------------------------------------------------------------

# A cell's summary, or undef (without creating empty levels in %S).
sub get {
	my ($mode, $w, $size, $t, $m) = @_;
	my $h = \%S;
	for my $k ($mode, $w, $size, $t, $m) {
		return undef unless ref $h eq 'HASH' && exists $h->{$k};
		$h = $h->{$k};
	}
	return $h;
}

sub sizes_of {
	my ($mode, $w) = @_;
	my @s = sort { $a <=> $b } keys %{ $S{$mode}{$w} // {} };
	return @s;	# (sort in scalar context is undefined)
}

# Has transport $t a cell in $mode?
sub ran {
	my ($mode, $t) = @_;
	for my $w (keys %{ $S{$mode} // {} }) {
		return 1 if grep { exists $_->{$t} } values %{ $S{$mode}{$w} };
	}
	return 0;
}

sub transports_of {
	my ($mode, $w) = @_;
	my %have;
	for my $s (keys %{ $S{$mode}{$w} // {} }) {
		$have{$_} = 1 for keys %{ $S{$mode}{$w}{$s} };
	}
	return grep { $have{$_} } @TRANSPORTS;
}

# The label of a cell: workload and size, in the size's own unit.
sub cell_label {
	my ($w, $s) = @_;
	return "W5 $s pairs" if $w eq 'W5-pairs';
	return 'W5 idle' if $w eq 'W5-idle';
	return 'W6 ' . commify($s) . ' sockets' if $w eq 'W6';
	return "$w " . fmt_size($s);
}

sub fmt_size {
	my $s = shift;
	return sprintf('%d MiB', $s / 1048576) if $s >= 1048576 && $s % 1048576 == 0;
	return sprintf('%d KiB', $s / 1024) if $s >= 1024 && $s % 1024 == 0;
	return "$s B";
}

sub fmt_val {
	my ($m, $v) = @_;
	return '-' unless defined $v;
	if ($m =~ /_ns$/) {
		my $us = $v / 1000;
		return sprintf($us >= 100 ? '%.0f' : $us >= 10 ? '%.1f' : '%.2f', $us);
	}
	return sprintf('%.2f', $v) if $m eq 'lost_pct';
	return sprintf('%.0f', $v) if $v >= 100;
	return sprintf('%.1f', $v) if $v >= 10;
	return sprintf('%.2f', $v);
}

# Speed relative to a reference: > 1 means faster, whatever the metric.
sub speed {
	my ($m, $r) = @_;
	return undef unless defined $r && $r ne '' && $r > 0;
	return $LOWER_BETTER{$m} ? 1 / $r : $r;
}

sub geomean {
	my @v = grep { defined && $_ > 0 } @_;
	return undef unless @v;
	my $s = 0;
	$s += log($_) for @v;
	return exp($s / @v);
}

# Ratio of two transports' values in a cell, as a speed.
sub speed_vs {
	my ($mode, $w, $size, $t, $ref, $m) = @_;
	my $a = get($mode, $w, $size, $t, $m);
	my $b = get($mode, $w, $size, $ref, $m);
	return undef unless $a && $b && $a->{v} > 0 && $b->{v} > 0;
	return speed($m, $a->{v} / $b->{v});
}

# Text table with aligned columns (first column left).
sub text_table {
	my @rows = @_;
	my @w;
	for my $r (@rows) {
		for my $i (0 .. $#$r) {
			my $l = length($r->[$i] // '');
			$w[$i] = $l if !defined $w[$i] || $l > $w[$i];
		}
	}
	my $s = '';
	for my $r (@rows) {
		$s .= join('  ', map {
			$_ == 0 ? sprintf("%-*s", $w[$_], $r->[$_] // '')
				: sprintf("%*s", $w[$_], $r->[$_] // '')
		} 0 .. $#$r) . "\n";
	}
	return $s;
}

# reStructuredText grid table.
sub rst_table {
	my @rows = @_;
	my @w;
	for my $r (@rows) {
		for my $i (0 .. $#$r) {
			my $l = length($r->[$i] // '');
			$w[$i] = $l if !defined $w[$i] || $l > $w[$i];
		}
	}
	my $sep = '+' . join('+', map { '-' x ($_ + 2) } @w) . "+\n";
	my $hsep = '+' . join('+', map { '=' x ($_ + 2) } @w) . "+\n";
	my $s = $sep;
	for my $i (0 .. $#rows) {
		$s .= '|' . join('|', map { ' ' . sprintf("%-*s", $w[$_], $rows[$i][$_] // '') . ' ' } 0 .. $#w) . "|\n";
		$s .= $i == 0 ? $hsep : $sep;
	}
	return $s;
}

# Rows of the pivot table of one mode and workload: value (x ratio).
sub pivot_rows {
	my ($mode, $w, $m) = @_;
	my @ts = transports_of($mode, $w);
	my @rows = ([$w eq 'W5-pairs' ? 'pairs' : $w eq 'W6' ? 'sockets' : 'size', @ts]);
	for my $s (sizes_of($mode, $w)) {
		my @r = ($w eq 'W5-pairs' ? $s : $w eq 'W6' ? commify($s) : fmt_size($s));
		for my $t (@ts) {
			my $c = get($mode, $w, $s, $t, $m);
			if (!$c) { push @r, '-'; next; }
			my $cell = fmt_val($m, $c->{v});
			$cell .= sprintf(' (%.2f)', $c->{ru}) if $c->{ru} ne '';
			push @r, $cell;
		}
		push @rows, \@r;
	}
	return @rows;
}

# Repeatability of the reference transports: spread over repetitions
# within this run, and change against the previous run, over every
# cell's primary metric (and all W1 percentiles up to p99).
sub repeat_rows {
	my @rows = (['mode', 'transport', 'cells', 'spread in run: median', 'max',
		     'vs previous run: median', 'max']);
	my $have_prev = 0;
	for my $mode (@modes) {
		for my $t (qw(unix-stream unix-dgram pipe tcp), grep { /^afx-/ } @TRANSPORTS) {
			my (@sp, @d);
			for my $w (@WORKLOADS) {
				my @ms = ($PRIMARY{$w});
				push @ms, 'rtt_p90_ns', 'rtt_p99_ns' if $w eq 'W1';
				for my $m (@ms) {
					for my $s (sizes_of($mode, $w)) {
						my $c = get($mode, $w, $s, $t, $m) or next;
						push @sp, $c->{sp};
						my $p = $PREV{$mode}{$w}{$s}{$t}{$m};
						push @d, 100 * abs($c->{v} / $p - 1) if $p && $p > 0;
					}
				}
			}
			next unless @sp;
			$have_prev ||= @d;
			push @rows, [$mode, $t, scalar(@sp), pct_txt(median(@sp)), pct_txt(max(@sp)),
				     @d ? (pct_txt(median(@d)), pct_txt(max(@d))) : ('-', '-')];
		}
	}
	return ($have_prev, @rows);
}

sub median {
	my @v = sort { $a <=> $b } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub max { my $m; for (@_) { $m = $_ if !defined $m || $_ > $m; } return $m; }

sub pct_txt { my $v = shift; return defined $v ? sprintf('%.1f %%', $v) : '-'; }

# --- human table on stdout -----------------------------------------------------

sub headline_rows {
	my ($mode) = @_;
	my @alts = grep { $_->[2] && ran($mode, $_->[0]) } @VERSUS;
	my @rows = (['workload (metric)', map { "$_->[0] vs $_->[1]" } @alts]);
	for my $w (@WORKLOADS) {
		my @metrics = ($PRIMARY{$w});
		push @metrics, 'rtt_p99_ns' if $w eq 'W1';
		for my $m (@metrics) {
			my @r = ("$w ($m)");
			my $any = 0;
			for my $a (@alts) {
				my @sp = map { speed_vs($mode, $w, $_, $a->[0], $a->[1], $m) } sizes_of($mode, $w);
				my $g = geomean(@sp);
				push @r, defined $g ? sprintf('%.2f', $g) : '-';
				$any ||= defined $g;
			}
			push @rows, \@r if $any;
		}
	}
	return @rows;
}

for my $mode (@modes) {
	print "\n==== $mode: $MODE_TEXT{$mode}\n" if $MODE_TEXT{$mode};
	print "\n==== $mode\n" unless $MODE_TEXT{$mode};
	print "\nAF_X speed relative to each alternative (geometric mean over sizes; "
		. "> 1.00: AF_X faster, < 1.00: AF_X slower)\n\n";
	print text_table(headline_rows($mode));
	for my $w (@WORKLOADS) {
		my $m = $PRIMARY{$w};
		next unless sizes_of($mode, $w);
		printf "\n%s: %s, %s (ratio to AF_UNIX of the same type, %s)\n",
			$WL_TITLE{$w}, $m, $UNIT{$m},
			$LOWER_BETTER{$m} ? 'lower is faster' : 'higher is faster';
		print text_table(pivot_rows($mode, $w, $m));
	}
}
for my $mode (sort keys %REAL) {
	print "\n==== $mode: real programs (bench/real.sh)\n\n";
	print text_table(real_rows($mode));
}
{
	my ($have_prev, @rows) = repeat_rows();
	print "\nRepeatability (primary metrics; spread = (max - min) / median over "
		. "repetitions; change against the previous make bench run"
		. ($have_prev ? '' : ': none found') . ")\n\n";
	print text_table(@rows);
}
print "\n";
if (@problems) {
	print "Problems:\n", map { "  - $_\n" } @problems;
} else {
	print "No problems: every cell ran and every --validate pass succeeded.\n";
}

# --- plots ------------------------------------------------------------------------

my @pngs;
my $plotdir = "$out/plot-data";
make_path($plotdir);

sub write_series {
	my ($file, $mode, $w, $m, $scale, @ts) = @_;
	@ts = transports_of($mode, $w) unless @ts;
	open(my $fh, '>', $file) or die "$file: $!";
	print $fh join("\t", 'size', @ts), "\n";
	for my $s (sizes_of($mode, $w)) {
		my @r = ($s);
		for my $t (@ts) {
			my $c = get($mode, $w, $s, $t, $m);
			push @r, $c ? $c->{v} * $scale : 'NaN';
		}
		print $fh join("\t", @r), "\n";
	}
	close $fh;
}

sub gnuplot {
	my ($script, %var) = @_;
	my @e = map { "$_='$var{$_}'" } sort keys %var;
	my $err = "$plotdir/gnuplot.err";
	my $rc;
	{
		# Empty cells (UDP at 64 KiB, W3 for streams...) are expected.
		open(my $save, '>&', \*STDERR) or die;
		open(STDERR, '>', $err) or die "$err: $!";
		$rc = system('gnuplot', '-e', join('; ', @e), "bench/$script");
		open(STDERR, '>&', $save) or die;
	}
	if (open(my $fh, '<', $err)) {
		print STDERR grep { !/^\s*$/ && !/matrix contains missing or undefined values/ } <$fh>;
		close $fh;
	}
	if ($rc != 0) {
		push @problems, "gnuplot bench/$script failed for $var{out}";
		return;
	}
	push @pngs, $var{out};
}

my $have_gnuplot = system('sh', '-c', 'command -v gnuplot >/dev/null') == 0;
push @problems, 'gnuplot not installed: no plots (scripts/deps.sh installs gnuplot-nox)'
	unless $have_gnuplot;

# Heat map columns: every workload/size with its primary metric.
my @HEAT_COLS;
for my $mode (@modes) {
	next unless $have_gnuplot;
	my $title = $mode;
	if (sizes_of($mode, 'W1')) {
		write_series("$plotdir/w1-p50-$mode.dat", $mode, 'W1', 'rtt_p50_ns', 1e-3);
		write_series("$plotdir/w1-p99-$mode.dat", $mode, 'W1', 'rtt_p99_ns', 1e-3);
		gnuplot('plot-latency.gp', p50 => "$plotdir/w1-p50-$mode.dat",
			p99 => "$plotdir/w1-p99-$mode.dat", mode => $title,
			out => "$out/rtt-$mode.png");
	}
	if (sizes_of($mode, 'W2') || sizes_of($mode, 'W3')) {
		write_series("$plotdir/w2-$mode.dat", $mode, 'W2', 'MiB_s', 1);
		write_series("$plotdir/w3-$mode.dat", $mode, 'W3', 'msgs_s', 1);
		gnuplot('plot-throughput.gp', w2 => "$plotdir/w2-$mode.dat",
			w3 => "$plotdir/w3-$mode.dat", mode => $title,
			out => "$out/throughput-$mode.png");
	}
	# Heat map: speed relative to AF_UNIX of the same type.
	my @cols;
	for my $w (@WORKLOADS) {
		for my $s (sizes_of($mode, $w)) {
			push @cols, [$w, $s, cell_label($w, $s)];
		}
	}
	next unless @cols;
	my @ts = grep { my $t = $_; grep { get($mode, $_->[0], $_->[1], $t, $PRIMARY{$_->[0]}) } @cols } @TRANSPORTS;
	open(my $fh, '>', "$plotdir/heat-$mode.dat") or die;
	print $fh join("\t", 'x', map { $_->[2] } @cols), "\n";
	for my $t (reverse @ts) {
		my @r = ($t);
		for my $c (@cols) {
			my $cell = get($mode, $c->[0], $c->[1], $t, $PRIMARY{$c->[0]});
			my $sp = $cell ? speed($PRIMARY{$c->[0]}, $cell->{ru}) : undef;
			push @r, defined $sp ? sprintf('%.3f', $sp) : 'NaN';
		}
		print $fh join("\t", @r), "\n";
	}
	close $fh;
	gnuplot('plot-heatmap.gp', data => "$plotdir/heat-$mode.dat", mode => $title,
		ncols => scalar(@cols), nrows => scalar(@ts),
		out => "$out/heatmap-$mode.png");
}

# --- the page -----------------------------------------------------------------------

if (($ENV{AFX_BENCH_PAGE} // '1') ne '0' && @modes) {
	write_page();
	print "report.pl: wrote Documentation/performance.rst\n";
}

print "report.pl: $out/summary.csv, $out/raw.csv, $out/validation.txt",
	(@pngs ? ', ' . join(', ', @pngs) : ''), "\n";
exit(@problems ? 1 : 0);

# Ahead / level / behind of each AF_X transport against each alternative.
sub comparison_text {
	my ($mode) = @_;
	my $text = '';
	for my $pr (@VERSUS) {
		my ($t, $ref) = @$pr;
		my (@a, @b, @l);
		for my $w (@WORKLOADS) {
			my @metrics = ($PRIMARY{$w});
			push @metrics, 'rtt_p99_ns' if $w eq 'W1';
			for my $m (@metrics) {
				for my $s (sizes_of($mode, $w)) {
					my $sp = speed_vs($mode, $w, $s, $t, $ref, $m);
					next unless defined $sp;
					my $lab = cell_label($w, $s);
					$lab .= ' p99' if $m eq 'rtt_p99_ns';
					my $e = [$lab, $sp];
					if ($sp >= 1.05) { push @a, $e; }
					elsif ($sp <= 1 / 1.05) { push @b, $e; }
					else { push @l, $e; }
				}
			}
		}
		my $n = @a + @b + @l;
		next unless $n;
		my $range = sub {
			my @v = sort { $a <=> $b } map { $_->[1] } @_;
			my ($lo, $hi) = (sprintf('%.2fx', $v[0]), sprintf('%.2fx', $v[-1]));
			return $lo eq $hi ? $lo : "$lo to $hi";
		};
		$text .= "- **$t against $ref**: ";
		$text .= @a ? sprintf('ahead in %d of %d cells (%s)', scalar @a, $n, $range->(@a))
			    : "ahead in none of $n cells";
		$text .= @l ? sprintf(', level in %d', scalar @l) : '';
		if (@b) {
			$text .= sprintf(', **behind in %d**: %s', scalar @b,
				join(', ', map { sprintf('%s %.2fx', @$_) } @b));
		} else {
			$text .= ', behind in none';
		}
		$text .= ".\n";
	}
	return $text;
}

# 12345.6 -> "12,346"
sub commify {
	my $n = sprintf('%.0f', shift);
	1 while $n =~ s/^(\d+)(\d{3})/$1,$2/;
	return $n;
}

# The fast data path issue's targets, each with what this run measured in
# $mode, and for a target missed what limits it (from bench/prof's
# instruction profiles).
sub targets_text {
	my $mode = shift;
	my $v = sub { my $c = get($mode, @_); return $c ? $c->{v} : undef; };
	my $ratio = sub {
		my ($a, $b) = @_;
		return undef unless defined $a && defined $b && $b > 0;
		return $a / $b;
	};
	my $fmt = sub { defined $_[0] ? sprintf('%.2fx', $_[0]) : '-' };
	my (@rows, @limits);
	my $add = sub {
		my ($what, $target, $measured, $met, $limit) = @_;
		my $verdict = !defined $met ? 'not measured' : $met ? 'met' : 'missed';
		push @rows, [$what, $target, $measured, $verdict];
		push @limits, "- **$what**: $limit" if defined $met && !$met && $limit;
	};
	# Extremes of a ratio over sizes; undef if a size is missing.
	my $over = sub {
		my ($w, $m, $ref, $sizes, $pick) = @_;
		my $best;
		for my $s (@$sizes) {
			my $r = $ratio->($v->($w, $s, 'afx-stream', $m), $v->($w, $s, $ref, $m));
			return undef unless defined $r;
			$best = $r if !defined $best || $pick->($r, $best);
		}
		return $best;
	};
	my $lt = sub { $_[0] < $_[1] };
	my $gt = sub { $_[0] > $_[1] };

	my $w1u = $ratio->($v->('W1', 64, 'afx-stream', 'rtt_p50_ns'), $v->('W1', 64, 'unix-stream', 'rtt_p50_ns'));
	my $w1p = $ratio->($v->('W1', 64, 'afx-stream', 'rtt_p50_ns'), $v->('W1', 64, 'pipe', 'rtt_p50_ns'));
	$add->('W1 64 B round trip, p50', '<= 0.60x AF_UNIX stream, faster than a pipe',
	       sprintf('%s AF_UNIX, %s a pipe (time)', $fmt->($w1u), $fmt->($w1p)),
	       defined $w1u && defined $w1p ? ($w1u <= 0.60 && $w1p <= 0.95) : undef,
	       'a 64 B round trip costs AF_X 12,888 instructions, a pipe 13,149 and AF_UNIX '
	       . '16,555 (``bench/prof/README``). Two context switches and two wakeups '
	       . '(about 6,800), four system calls (about 1,500) and the LSM hooks (about '
	       . '470) are what every transport pays; 0.60x AF_UNIX, 9,930, would leave '
	       . 'about 1,100 for the socket layer (790), the copies (550) and AF_X\'s own '
	       . 'code (1,450). Only a reader that spins instead of sleeping could go lower.');
	my @w1s = grep { $_ <= 65536 } sizes_of($mode, 'W1');
	my @worst;
	for my $ref (qw(unix-stream unix-seqpacket pipe)) {
		push @worst, [$ref, $over->('W1', 'rtt_p50_ns', $ref, \@w1s, $gt)];
	}
	my $all = !grep { !defined $_->[1] } @worst;
	$add->('W1 every size, 1 B to 64 KiB, p50', 'faster than AF_UNIX stream, seqpacket and a pipe',
	       'slowest size: ' . join(', ', map { "$_->[0] " . $fmt->($_->[1]) } @worst) . ' (time)',
	       $all ? !grep { $_->[1] > 0.95 } @worst : undef,
	       'small round trips cost what a pipe\'s cost, AF_X 2 % less at 64 B (see the '
	       . 'first row): level with a pipe by the 5 % rule, not ahead.');
	my @small = grep { $_ <= 1024 } sizes_of($mode, 'W2');
	my $w2p = $over->('W2', 'msgs_s', 'pipe', \@small, $lt);
	my $w2u = $ratio->($v->('W2', 64, 'afx-stream', 'msgs_s'), $v->('W2', 64, 'unix-stream', 'msgs_s'));
	$add->('W2 1 B to 1 KiB one-way, msgs/s', '>= a pipe at every size; >= 3.5x AF_UNIX at 64 B',
	       sprintf('lowest %s a pipe; %s AF_UNIX at 64 B', $fmt->($w2p), $fmt->($w2u)),
	       defined $w2p && defined $w2u ? ($w2p >= 1 && $w2u >= 3.5) : undef,
	       'a 1 B write and its read cost AF_X 2,551 instructions in one process and a '
	       . 'pipe 2,123 (``bench/prof/README``): the socket layer and the socket LSM '
	       . 'hooks (about 420) that a pipe does not pass through, against the file '
	       . 'timestamps a pipe keeps (about 250). Between two processes the rate then '
	       . 'depends on how many writes a reader drains per wakeup on one CPU (see '
	       . 'below), which moves these cells by about 10 % between runs.');
	my @large = grep { $_ >= 65536 } sizes_of($mode, 'W2');
	my $w2l = $over->('W2', 'MiB_s', 'unix-stream', \@large, $lt);
	$add->('W2 64 KiB to 1 MiB one-way, MiB/s', '>= 2x AF_UNIX', 'lowest ' . $fmt->($w2l),
	       defined $w2l ? $w2l >= 2 : undef, 'bytes the writer sends while the reader is '
	       . 'busy go through the ring, copied twice.');
	my $w3 = $ratio->($v->('W3', 64, 'afx-dgram', 'msgs_s'), $v->('W3', 64, 'unix-dgram', 'msgs_s'));
	my $w3u = $v->('W3', 64, 'unix-dgram', 'msgs_s');
	$add->('W3 64 B datagrams, msgs/s', '>= 3x AF_UNIX datagram', $fmt->($w3),
	       defined $w3 ? $w3 >= 3 : undef,
	       sprintf('AF_UNIX takes %s instructions per datagram here, so 3x would be %s '
	       . 'per datagram, wakeups included; a send and a receive of a 64 B datagram in '
	       . 'one process, with no wakeup at all, already cost AF_X 3,130 (AF_UNIX 4,496; '
	       . '``bench/prof/README``), mostly the two system calls. Batching calls '
	       . '(sendmmsg, recvmmsg) is the way past it.',
	       defined $w3u ? commify(1e9 / $w3u) : '-',
	       defined $w3u ? commify(1e9 / $w3u / 3) : '-'));
	my $w4 = $ratio->($v->('W4', 1, 'afx-stream', 'conns_s'), $v->('W4', 1, 'unix-stream', 'conns_s'));
	$add->('W4 connect, 1 B request/reply, close', '>= 1.5x AF_UNIX', $fmt->($w4),
	       defined $w4 ? $w4 >= 1.5 : undef,
	       'a connection cycle in one process (socket, connect, accept, a byte each way, '
	       . 'two closes) costs AF_X 29,441 instructions and AF_UNIX 29,034 '
	       . '(``bench/prof/README``); about 20,000 of either is what both pay (sockets, '
	       . 'files and inodes allocated and freed, system calls, LSM hooks). AF_X saves '
	       . 'about 2,400 on the data (no buffer allocated per write) and spends it on '
	       . 'its socket list for introspection (about 1,900), on freeing its sockets '
	       . 'in RCU callbacks (about 1,650 more than AF_UNIX), on the ephemeral bind '
	       . 'of the client (480) and on the port hash (360).');
	my $idle = $ratio->($v->('W5-idle', 64, 'afx-stream', 'rtt_p50_ns'), $v->('W1', 64, 'afx-stream', 'rtt_p50_ns'));
	$add->('W5 64 B round trip with 4096 idle connections', 'within 10 % of none',
	       defined $idle ? sprintf('%+.1f %%', ($idle - 1) * 100) : '-',
	       defined $idle ? $idle <= 1.10 : undef, 'not profiled.');
	my $ta = $ratio->($v->('W1', 64, 'afx-stream', 'rtt_p999_ns'), $v->('W1', 64, 'afx-stream', 'rtt_p50_ns'));
	my $tu = $ratio->($v->('W1', 64, 'unix-stream', 'rtt_p999_ns'), $v->('W1', 64, 'unix-stream', 'rtt_p50_ns'));
	$add->('Tail, W1 64 B p99.9/p50', 'no worse than AF_UNIX',
	       sprintf('%s against %s', $fmt->($ta), $fmt->($tu)),
	       defined $ta && defined $tu ? $ta <= $tu : undef,
	       'not profiled; the p99.9 of a run is one of its slowest round trips, the '
	       . 'one a timer interrupt or a batch of RCU callbacks landed in.');
	my $ms = $ratio->($v->('W5-idle', 64, 'afx-stream', 'idle_kmem_B'), $v->('W5-idle', 64, 'unix-stream', 'idle_kmem_B'));
	my $md = $ratio->($v->('W5-idle', 64, 'afx-dgram', 'idle_kmem_B'), $v->('W5-idle', 64, 'unix-dgram', 'idle_kmem_B'));
	$add->('Kernel memory per idle connection', 'no more than AF_UNIX\'s',
	       sprintf('stream %s, datagram %s (%s and %s bytes)', $fmt->($ms), $fmt->($md),
		       $v->('W5-idle', 64, 'afx-stream', 'idle_kmem_B') // '-',
		       $v->('W5-idle', 64, 'afx-dgram', 'idle_kmem_B') // '-'),
	       defined $ms && defined $md ? ($ms <= 1.005 && $md <= 1.005) : undef,
	       'a socket is a 1 KiB slab object, as an AF_UNIX one is; the rest is '
	       . 'the introspection registry\'s share (an XArray node per 64 sockets).');
	my @w6 = sizes_of($mode, 'W6');
	my ($w6a, $w6u);
	if (@w6 >= 2) {
		$w6a = $ratio->($v->('W6', $w6[0], 'afx-stream', 'conns_s'), $v->('W6', $w6[-1], 'afx-stream', 'conns_s'));
		$w6u = $ratio->($v->('W6', $w6[0], 'unix-stream', 'conns_s'), $v->('W6', $w6[-1], 'unix-stream', 'conns_s'));
	}
	$add->(sprintf('W6 (scale issue): W4 with %s sockets open', @w6 ? commify($w6[-1]) : '-'),
	       sprintf('within 20 %% of W4 with %s', @w6 ? commify($w6[0]) : '-'),
	       sprintf('%s; AF_UNIX %s (cost, not rate)',
		       defined $w6a ? sprintf('%+.1f %%', ($w6a - 1) * 100) : '-',
		       defined $w6u ? sprintf('%+.1f %%', ($w6u - 1) * 100) : '-'),
	       defined $w6a && $w6[-1] >= 100000 ? $w6a <= 1.20 : undef, 'not profiled.');
	my $txt = "Faster means at least 5 % faster, as in the cells above; ratios of\n"
		. "round trips are of time (lower is faster).\n\n";
	$txt .= rst_table(['target (fast data path issue, or as named)', 'wanted', "measured ($mode)", 'verdict'], @rows);
	$txt .= "\nWhat limits the targets missed:\n\n" . join("\n", @limits) . "\n" if @limits;
	return $txt;
}

# Do pairs on different CPUs scale? W5-pairs of the wall-spread mode: the
# rate of 2 pairs over that of 1, with the spread of each.
sub scaling_text {
	my $mode = 'wall-spread';
	return '' unless sizes_of($mode, 'W5-pairs');
	my @rows = (['transport', '1 pair (round trips/s)', '2 pairs', '2 pairs / 1', 'spread 1 / 2']);
	for my $t (transports_of($mode, 'W5-pairs')) {
		my $one = get($mode, 'W5-pairs', 1, $t, 'roundtrips_s');
		my $two = get($mode, 'W5-pairs', 2, $t, 'roundtrips_s');
		next unless $one && $two && $one->{v} > 0;
		push @rows, [$t, commify($one->{v}), commify($two->{v}),
			     sprintf('%.2fx', $two->{v} / $one->{v}),
			     sprintf('%.0f %% / %.0f %%', $one->{sp}, $two->{sp})];
	}
	return '' if @rows == 1;
	return "Scaling over CPUs\n-----------------\n\n"
		. "Two ping-pong pairs, each on a vCPU of its own (``wall-spread``), against\n"
		. "one: a transport with no lock or cache line shared between connections\n"
		. "gets close to 2x (the target of the scale issue is 1.8x). Wall clock,\n"
		. "so read it with the spread of the repetitions and the host load of the\n"
		. "wall-clock guest below: the two vCPUs are host threads on a host that\n"
		. "runs other work.\n\n" . rst_table(@rows) . "\n";
}

sub write_page {
	my $p = 'Documentation/performance.rst';
	my $imgdir = 'Documentation/performance';
	make_path($imgdir);
	my @imgs;
	for my $png (@pngs) {
		(my $base = $png) =~ s{.*/}{};
		copy($png, "$imgdir/$base") or die "copy $png: $!";
		push @imgs, $base;
	}
	# Plots of modes this run did not have would describe another run.
	for my $old (glob("$imgdir/*.png")) {
		(my $base = $old) =~ s{.*/}{};
		unlink $old unless grep { $_ eq $base } @imgs;
	}
	my $first = $modes[0];
	my $inf = $info{'icount'} // $info{(sort keys %info)[0]} // {};
	my $winf = $info{'wall'} // {};
	my $date = strftime('%Y-%m-%d', gmtime);
	# The tree as it was built (scripts/bench.sh), else as it is now.
	my %build;
	if (open(my $bf, '<', "$out/build.txt")) {
		%build = map { chomp; split /=/, $_, 2 } grep { /=/ } <$bf>;
		close $bf;
	}
	my $commit = $build{commit} // `git rev-parse --short HEAD 2>/dev/null` // '';
	chomp $commit;
	my $changes = $build{module_changes} //
		scalar(() = `git status --porcelain --untracked-files=no -- module uapi Kbuild 2>/dev/null`);
	my $dirty = $changes ? ' (with uncommitted module changes)' : '';
	my $host_cpu = `sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1`;
	chomp $host_cpu;
	my $host_ncpu = `nproc`;
	chomp $host_ncpu;
	my $qemu = $ENV{AFX_QEMU_VERSION} // `qemu-system-x86_64 --version | head -n 1`;
	chomp $qemu;
	my $secs = $ENV{AFX_BENCH_SECONDS};
	my %reps;
	for my $mode (@modes) {
		for my $w (keys %{ $S{$mode} }) {
			for my $s (keys %{ $S{$mode}{$w} }) {
				for my $t (keys %{ $S{$mode}{$w}{$s} }) {
					for my $c (values %{ $S{$mode}{$w}{$s}{$t} }) {
						$reps{$mode} = $c->{n} if !$reps{$mode} || $c->{n} > $reps{$mode};
					}
				}
			}
		}
	}

	open(my $fh, '>', $p) or die "$p: $!";
	my $title = 'AF_X performance';
	print $fh <<"EOT";
.. SPDX-License-Identifier: GPL-2.0

.. This page is generated by ``make bench`` (bench/report.pl); edit the
   generator, not this file.

$title
${\('=' x length $title)}

How fast is AF_X compared with what a program would use instead on the
same machine: AF_UNIX (stream, datagram, seqpacket), a pipe, TCP and UDP
over loopback, and vsock over ``vsock_loopback``? This page holds the
results of one ``make bench`` run: every transport ran the same program
(``bench/afx-bench.c``), in the same guest boot, interleaved, and the
ratios below compare numbers taken side by side.

Run of $date, tree at commit ``$commit``$dirty.
${\(defined $secs ? sprintf('``make bench`` took %d min %02d s on this host.', $secs / 60, $secs % 60) : '')}

Where AF_X stands
-----------------

Speed of AF_X relative to each alternative: geometric mean over the
sizes of each workload, **> 1.00 means AF_X is faster, < 1.00 slower**
(for round trips the ratio is inverted, so that it always reads as
speed). Mode ``$first``${\($MODE_TEXT{$first} ? ": $MODE_TEXT{$first}" : '')}.

EOT
	print $fh rst_table(headline_rows($first)), "\n";

	print $fh "Cell by cell (``$first``): the cells are every workload and size, for\n"
		. "the primary metric of each workload and for W1 also p99; AF_X counts as\n"
		. "ahead or behind when it is at least 5 % faster or slower, else level.\n\n";
	print $fh comparison_text($first), "\n";
	print $fh "Targets\n-------\n\n";
	print $fh targets_text($first), "\n";
	print $fh scaling_text();
	print $fh <<'EOT';
The mechanisms (instruction counts from profiles of one 64 B round trip
under instruction counting, recorded in the notes of the fast data path
issue): an AF_X stream keeps each direction's bytes in a ring of pages
(``DOC: Stream buffer`` in ``module/sbuf.c``). A write is copied into the
page the writer is filling, as a pipe's is, with no allocation, and wakes
the reader only if the buffer was empty; AF_UNIX allocates an skb per
write and wakes the reader every time, hence AF_X's lead over AF_UNIX on
small one-way writes. A round trip is dominated by what every transport
pays alike: two context switches and two wakeups (about 6,800
instructions), four system calls (about 1,500) and the LSM hooks (about
470). Of what is AF_X's own, the socket lock was the largest part (6
``lock_sock()`` pairs, about 660 instructions, against 130 for a pipe's
mutex): a connected socket's data path now takes one mutex per direction
instead (``DOC: Data`` in ``module/af_x.c``), a read wakes the writer
only if it can be waiting for room, the buffer's small steps are inline,
and a copy out of a ring page skips the hardened-usercopy check, which
has nothing to check within one page. A 64 B round trip costs AF_X
12,888 instructions, a pipe 13,149 and AF_UNIX 16,555
(``bench/prof/README``).

The readers' pages are recycled: a buffer keeps up to 16 pages its reader
finished (64 KiB) for its writer, so messages up to that size allocate no
page and zero none, where AF_UNIX and a pipe allocate, and the kernel
zeroes, the memory of every large message (Debian's kernel zeroes every
new page). That is AF_X's lead from 16 KiB up: one copy in and one copy
out, against a copy, a clear and a copy. Pages also pass from a closed
connection to the next one started on the same CPU (``AFX_SBUF_PCP_PAGES`` per CPU,
only between buffers charged to the same memory cgroup), and a socket's
queued data is freed when its last reference goes rather than a grace
period later: with a socket list that takes one XArray insert and one
erase per socket, that took a W4 cycle from 33,100 instructions to
29,441 (AF_UNIX 29,034; ``bench/prof/README``).

From 16 KiB up a byte can be copied once: a reader that waits in
``recv()`` while the writer writes large pins its own buffer and posts
it on the stream buffer, and the writer copies straight into it
(``DOC: Stream buffer`` in ``module/sbuf.c``). A pipe and AF_UNIX copy
every byte twice and, for large messages, allocate and clear pages as
well; at 256 KiB and 1 MiB that makes AF_X's stream move more than
twice their bytes per instruction. Bytes the writer sends while the
reader is busy still go through the ring (two copies).

An AF_X datagram socket keeps the datagrams sent to it in the same kind
of ring, as records (an 8-byte header and the payload, ``DOC: Data`` in
``module/af_x.c``): a send copies into the receiver's pages under the
receiver's producer lock and wakes it only if its ring was empty; AF_UNIX
allocates and frees an skb per datagram and wakes the reader for each
one. In a one-way flow on one CPU that keeps the AF_X reader draining
many datagrams per wakeup, where AF_UNIX's is woken for nearly every
datagram: measured with ``/proc`` context switch counts in the
investigation, 317 reader sleeps for 20,000 64 B datagrams against
12,133 before the ring. One-way rates of small messages depend on how
many messages a reader drains per wakeup on one CPU, which shifts with
small changes of either side's cost; they are the cells that move most
between runs of different trees.

EOT
	my @other = grep { $_ ne $first } @modes;
	if (@other) {
		print $fh "Wall-clock modes\n~~~~~~~~~~~~~~~~\n\n";
		print $fh "The same table from the wall-clock guest. Read it with care: the\n"
			. "emulated vCPUs are host threads sharing the host with everything else\n"
			. "that runs there, and a cross-vCPU wakeup waits for the host to run\n"
			. "the other vCPU's thread.";
		my $ht = host_text('wall');
		print $fh " In this run $ht." if $ht;
		print $fh "\n\n";
		for my $mode (@other) {
			my $n = mode_noise($mode);
			next unless defined $n && $n > 10;
			printf $fh "**%s is noisy in this run**: the median spread over "
				. "repetitions of AF_UNIX, pipe and TCP cells is %.0f %%, against "
				. "%.1f %% in ``%s``. Its ratios are not a measurement of the "
				. "transports; the instruction-counting mode is.\n\n",
				$mode, $n, mode_noise($first) // 0, $first;
		}
		for my $mode (@other) {
			print $fh "``$mode``: $MODE_TEXT{$mode}\n\n" if $MODE_TEXT{$mode};
			print $fh rst_table(headline_rows($mode)), "\n";
		}
	}
	if (@problems) {
		print $fh "Problems in this run\n~~~~~~~~~~~~~~~~~~~~\n\n";
		print $fh map { "- $_\n" } @problems;
		print $fh "\n";
	}

	{
		my ($have_prev, @rows) = repeat_rows();
		print $fh "Repeatability\n~~~~~~~~~~~~~\n\n";
		print $fh "How much the numbers move: the spread over repetitions within this\n"
			. "run, (max - min) / median per cell, and the change of each median\n"
			. "against the previous ``make bench`` run on this machine"
			. ($have_prev ? '' : ' (there was none)') . ". Over every\n"
			. "cell's primary metric (for W1 also p90 and p99).\n\n";
		print $fh rst_table(@rows), "\n";
	}

	print $fh <<"EOT";
Setup
-----

${\(join('', map { ":$_->[0]: $_->[1]\n" } (
	['QEMU', $qemu],
	['host CPU', "$host_cpu, $host_ncpu CPUs"],
	['guest kernel', ($inf->{kernel} // '?') . ' (the stock Debian kernel)'],
	['guest CPU, memory', ($inf->{cpu_model} // '?') . ', ' . int(($inf->{mem_kb} // 0) / 1024) . ' MiB'],
	['clocksource', ($inf->{clocksource} // '?') . ' (tsc=reliable on the kernel command line)'],
	['afx.ko srcversion', $inf->{afx_srcversion} // '?'],
	['repetitions', join(', ', map { "$_: $reps{$_}" } @modes)],
)))}
Modes, one guest boot each (``scripts/vm.sh`` with ``-accel tcg``, and
``-cpu qemu64,+rdrand`` so that the guest's random number
generator is seeded at boot, as on real hardware: unseeded, every
``get_random_u32()`` of afx's ephemeral ports and of TCP runs a ChaCha
block):

- ``icount``: ``-icount shift=0,sleep=off -smp 1``. The guest clock
  advances by 1 ns per executed instruction and never sleeps, so a
  measurement is a count of instructions and repeats from run to run
  (the spread over repetitions is in the ``spread_pct`` column). It is
  the mode the verdicts above use. It counts instructions, not cycles:
  cache misses, lock contention between CPUs and memory bandwidth do not
  show, and a copy costs what its instructions cost.
- ``wall``: ``-smp 2``, multi-threaded TCG, wall clock. The endpoints run
  on one vCPU (``wall-same``) and on different vCPUs (``wall-split``),
  and for W5-pairs also with each pair on a vCPU of its own
  (``wall-spread``), pinned with ``sched_setaffinity``. Emulated, so absolute numbers are far
  below real hardware and depend on the host's load; the ratios are what
  to read.

Method
------

``afx-bench`` takes a table of transports (domain, type, address builder)
and runs each workload with the same code for all of them. Each
measurement (a cell: workload, size, transport, repetition) runs in a
fresh server and client process; a coordinator only forks and waits.

- **W1** ping-pong: the client sends one message of the given size, the
  server reads it whole and sends it back; one message in flight. Round
  trip percentiles p50, p90, p99, p99.9 and the maximum (``rtt_*_ns``).
- **W2** one-way stream (byte streams only: AF_X and AF_UNIX stream, pipe,
  TCP, vsock): the client writes chunks of the given size, the server
  reads with a buffer of max(size, 64 KiB) until EOF. MiB/s and writes/s
  over the interval after a warm-up, timed by the receiver.
- **W3** one-way datagrams (AF_X and AF_UNIX datagram and seqpacket,
  UDP): every message is received with a buffer one byte larger than sent
  and its size checked. Messages/s at the receiver; UDP may drop
  (``lost_pct``), and only delivered messages count. UDP cannot carry
  64 KiB (its limit is 65507 bytes), so that cell is empty.
- **W4** connection churn (connection-oriented sockets): connect, 1-byte
  request, 1-byte reply, the server closes, the client reads EOF and
  closes. Connections/s.
- **W5** scaling: N pairs (1, 2, 4, 8) running W1 with 64-byte messages at
  once, aggregate round trips/s (the ``size`` column of the CSV is N);
  and W1 (64 B) while 4096 idle connections of the same transport are open
  (datagram: 4096 bound sockets; pipe: 4096 pipes), with the kernel
  memory each idle one takes (``idle_kmem_B``: the growth of ``Slab`` in
  ``/proc/meminfo`` from before they are opened to after both ends of
  each are set up, divided by their number; neither end has sent
  anything, so no data pages are involved).
- **W6** scale (AF_X and AF_UNIX stream sockets, whose names are not
  limited to 16-bit ports): W4 while N other sockets (1,000, then
  100,000) of the same transport are bound to names of their own and
  listening in the namespace, as on a busy host. Connections/s; the
  target compares the two. The validation pass runs it with 1,000 and
  10,000.

Ratios: ``ratio_unix`` is value / value of AF_UNIX of the same socket type
in the same mode and cell (AF_X seqpacket against ``unix-seqpacket``;
datagram transports and the other W3 cells against ``unix-dgram``;
everything else against ``unix-stream``); ``ratio_pipe``
is value / value of the pipe. For ``rtt_*`` lower is faster, for rates
higher is faster.

Interleaving: for each workload and size, repetition 1 runs every
transport (and every placement) in table order, repetition 2 in reverse
order, and so on (A B C, C B A, ...); the summary is the median over
repetitions, ``spread_pct`` is (max - min) / median.

Validation: before the timed matrix each guest runs ``afx-bench
--validate`` over the whole matrix (short intervals): every byte received
is compared with the pattern that was sent and an FNV-1a checksum of all
bytes is compared between sender and receiver; reliable transports must
deliver every message. The timed runs always check byte and message
counts and every datagram's size. A transport that loses or corrupts data
fails the run; it cannot win by it.

EOT

	print $fh "Results\n-------\n\n";
	print $fh "Each cell: the median, and in parentheses the ratio to AF_UNIX of the\n"
		. "same type. Every metric of every cell, with its spread, is in\n"
		. "``bench-results/summary.csv``; every repetition in ``raw.csv``.\n\n";
	for my $mode (@modes) {
		my $h = "Mode $mode";
		print $fh "$h\n", '~' x length($h), "\n\n";
		print $fh "$MODE_TEXT{$mode}.\n\n" if $MODE_TEXT{$mode};
		for my $w (@WORKLOADS) {
			my @metrics = ($PRIMARY{$w});
			push @metrics, 'rtt_p99_ns', 'rtt_p999_ns' if $w eq 'W1' || $w eq 'W5-idle';
			push @metrics, 'msgs_s' if $w eq 'W2';
			push @metrics, 'lost_pct' if $w eq 'W3';
			push @metrics, 'idle_kmem_B' if $w eq 'W5-idle';
			for my $m (@metrics) {
				next unless sizes_of($mode, $w);
				printf $fh "%s, ``%s`` (%s, %s):\n\n", $WL_TITLE{$w}, $m, $UNIT{$m},
					$LOWER_BETTER{$m} ? 'lower is better' : 'higher is better';
				print $fh rst_table(pivot_rows($mode, $w, $m)), "\n";
			}
		}
	}

	if (%REAL) {
		print $fh "Real programs\n-------------\n\n";
		print $fh "Unmodified programs from Debian, in the same guest boot as the\n"
			. "tables above (``bench/real.sh``): ``redis-server`` with\n"
			. "``redis-benchmark -t ping,set,get -c 4`` (and ``-P 16``), and one\n"
			. "``curl`` fetching a 1 KiB file from ``nginx`` many times, over one\n"
			. "keep-alive connection and with a connection per request. TCP is\n"
			. "127.0.0.1; AF_UNIX is each program's own Unix socket support\n"
			. "(Redis's ``unixsocket``, nginx's ``unix:`` listener with ``curl\n"
			. "--unix-socket``); AF_X is both ends under ``afx-run`` (afx-run(1)),\n"
			. "with no change to either program. The figures include all of each\n"
			. "program's own work, so they show how much of it the transport is.\n"
			. "Each is one run. In icount mode Redis's repeat within 0.5 % from one\n"
			. "make bench to the next and nginx's within about 4 % (timed by the\n"
			. "guest's 10 ms uptime clock); the wall-clock ones are single runs on a\n"
			. "2-vCPU guest of a 2-core host and move by tens of percent, so the\n"
			. "verdict is icount's.\n\n";
		for my $mode (sort keys %REAL) {
			print $fh "Mode $mode:\n\n", rst_table(real_rows($mode)), "\n";
		}
	}

	if (@imgs) {
		print $fh "Plots\n-----\n\n";
		print $fh "Round trip against message size (W1, log axes), throughput against\n"
			. "size (W2, W3, log axes), and a heat map of every cell's speed\n"
			. "relative to AF_UNIX of the same type (blue: faster, red: slower).\n\n";
		for my $img (@imgs) {
			print $fh ".. image:: performance/$img\n   :alt: $img\n\n";
		}
	}

	print $fh <<'EOT';
Reproducing
-----------

On Debian 12 (amd64), as root or with sudo::

    make bench

installs what is missing (``scripts/deps.sh``: QEMU, the kernel image and
headers, gnuplot-nox, ...), builds ``afx.ko`` and ``build/afx-bench``,
packs an initramfs with the guest kernel's vsock modules, boots the two
guests and regenerates ``bench-results/`` and this page. Knobs
(environment): ``AFX_BENCH_MODES`` (``"icount wall"``), ``AFX_BENCH_REPS``,
``AFX_BENCH_SCALE`` (multiplies every measured interval),
``AFX_BENCH_EXTRA`` (more ``afx-bench`` options, e.g.
``--transports=afx-stream,unix-stream``), ``AFX_BENCH_PAGE=0`` (leave this
page alone), ``AFX_BENCH_REAL`` (``0``: no real programs; ``only``: them
alone), ``AFX_BENCH_REAL_REQS`` (their size, 20,000 Redis requests).

By hand, in a guest (``make shell``)::

    afx-bench --help
    afx-bench --workloads=W1 --transports=afx-stream,unix-stream,tcp
    afx-bench --quick --validate      # what make check runs

``make check`` runs ``afx-bench --quick --validate`` as one test
(``selftests/bench_quick.sh``; in the debug lanes over AF_X's own
transports only): it fails only when a transport fails or loses data,
never because of a ratio.

Caveats
-------

- Everything runs under TCG emulation. The instruction-counting mode
  measures how much work each transport makes the CPU do, which is what
  the kernel code decides; it does not see caches, and real hardware
  will not scale the same way for large copies.
- AF_X and AF_UNIX both copy the data once per direction; TCP and vsock
  add protocol work (and vsock a work queue hop), which is what most of
  their distance is.
- vsock runs only as a stream socket here.
EOT
	close $fh;
}

