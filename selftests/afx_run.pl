#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# afx_run.pl - an ordinary TCP program (Perl's IO::Socket::IP) for
# selftests/afx_run.sh to run under afx-run. It knows nothing of AF_X.
#
#   afx_run.pl server ADDR PORT   listen on ADDR:PORT, print the names,
#                                 echo one line of one client, exit
#   afx_run.pl client ADDR PORT   connect, print the names and options,
#                                 send "hello", print "echo <reply>"
#   afx_run.pl dualstack PORT     listen on 127.0.0.1:PORT and [::1]:PORT,
#                                 echo one line of the first client, exit
use strict;
use warnings;
use IO::Socket::IP;
use IO::Select;
use Socket qw(SOL_SOCKET IPPROTO_TCP TCP_NODELAY SOCK_STREAM);

use constant { SO_PROTOCOL => 38, SO_DOMAIN => 39 };

$| = 1;
my ($mode, @args) = @ARGV;

sub name { my ($h, $p) = @_; return ($h =~ /:/ ? "[$h]" : $h) . ":$p"; }

sub listener {
	my ($addr, $port, @more) = @_;
	my $l = IO::Socket::IP->new(LocalHost => $addr, LocalPort => $port,
				    Listen => 5, ReuseAddr => 1,
				    Type => SOCK_STREAM, @more)
	    or die "listen $addr:$port: $@\n";
	return $l;
}

sub echo_one {
	my ($c) = @_;
	my $line = <$c>;
	defined $line or die "no line\n";
	print $c $line;
	close $c;
}

if ($mode eq 'server') {
	my ($addr, $port) = @args;
	my $l = listener($addr, $port);
	print "listening ", name($l->sockhost, $l->sockport), "\n";
	my $c = $l->accept or die "accept: $!\n";
	print "accepted peer ", name($c->peerhost, $c->peerport),
	      " local ", name($c->sockhost, $c->sockport), "\n";
	echo_one($c);
} elsif ($mode eq 'client') {
	my ($addr, $port) = @args;
	my $c = IO::Socket::IP->new(PeerHost => $addr, PeerPort => $port,
				    Type => SOCK_STREAM)
	    or die "connect $addr:$port: $@\n";
	print "connected local ", name($c->sockhost, $c->sockport),
	      " peer ", name($c->peerhost, $c->peerport), "\n";
	setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1) or die "TCP_NODELAY: $!\n";
	my %o;
	for ([domain => SOL_SOCKET, SO_DOMAIN], [protocol => SOL_SOCKET, SO_PROTOCOL],
	     [nodelay => IPPROTO_TCP, TCP_NODELAY]) {
		my ($k, $level, $opt) = @$_;
		my $v = getsockopt($c, $level, $opt) or die "getsockopt $k: $!\n";
		$o{$k} = unpack('i', $v);
	}
	print "options domain=$o{domain} protocol=$o{protocol} nodelay=$o{nodelay}\n";
	print $c "hello\n";
	my $reply = <$c>;
	defined $reply or die "no reply\n";
	print "echo $reply";
} elsif ($mode eq 'dualstack') {
	my ($port) = @args;
	my $l4 = listener('127.0.0.1', $port);
	my $l6 = listener('::1', $port, V6Only => 1);
	print "listening ", name($l4->sockhost, $l4->sockport), " ",
	      name($l6->sockhost, $l6->sockport), "\n";
	my ($ready) = IO::Select->new($l4, $l6)->can_read(30) or die "no client\n";
	echo_one($ready->accept);
} else {
	die "usage: $0 server ADDR PORT | client ADDR PORT | dualstack PORT\n";
}
