#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
# sym.pl ADDRS < /proc/kallsyms: "addr sym+off" for each address
open(my $fh, '<', $ARGV[0]) or die; my @q = map { chomp; hex($_) } <$fh>; @q = sort { $a <=> $b } @q;
my @s; while (<STDIN>) { my ($ad, $t, $n, $m) = split; next unless $t =~ /^[tTwW]$/; push @s, [hex($ad), $n . ($m ? " $m" : "")]; }
@s = sort { $a->[0] <=> $b->[0] } @s;
my $j = 0;
for my $x (@q) { $j++ while $j + 1 < @s && $s[$j + 1][0] <= $x; printf "%x %s+0x%x\n", $x, $s[$j][1], $x - $s[$j][0] if $x >= $s[$j][0]; }
