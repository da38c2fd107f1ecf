#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# interop.pl - AF_X peers written with nothing but Perl's core built-ins
# (socket, bind, connect, listen, accept, send, recv, shutdown) and the core
# Socket/Errno/IO::Handle modules, for selftests/interop.sh and rmmod.sh.
#
# Addresses are packed by hand: pack("S S L L a4", AF_X, 0, port, addr, "")
# is struct sockaddr_x (family, reserved, port, addr, 4 zero bytes), host
# byte order. The family number comes from /sys/module/afx/parameters/family.
#
# Usage: interop.pl COMMAND ARGS...
#   dgram-send PORT MSG...     one datagram per MSG to {LOCAL, PORT}
#   dgram-recv [-r] PORT N     bind {ANY, PORT} (-r: SO_REUSEADDR first),
#                              print every datagram and its sender, N times
#   dgram-echo PORT N          bind {LOCAL, PORT}, send N datagrams back to
#                              their senders
#   dgram-request PORT MSG     send MSG to PORT, print the reply and its sender
#   stream-client PORT MSG     connect, send MSG, shutdown(SHUT_WR), print
#                              what comes back until EOF
#   stream-server PORT N       listen on {ANY, PORT}, echo N connections
#   refused PORT               expect ECONNREFUSED from a stream connect()
#                              and a datagram send() to PORT
#   hold                       hold one bound dgram socket until stdin ends
#                              or the process is killed
#
# Every command prints "... ready ..." once its socket is bound, so a script
# can wait for that line instead of sleeping. All of them give up after
# $INTEROP_TIMEOUT seconds (default 20), except hold.
# Exit status: 0 on success, 1 on any failure (the reason on stderr).

use strict;
use warnings;
use Socket qw(SOCK_STREAM SOCK_DGRAM SOL_SOCKET SO_REUSEADDR);
use Errno qw(ECONNREFUSED);
use IO::Handle;

use constant {
	ADDR_ANY   => 0,
	ADDR_LOCAL => 1,
};

STDOUT->autoflush(1);
STDERR->autoflush(1);

sub family {
	my $fam = 18;    # AF_X
	if (open(my $f, '<', '/sys/module/afx/parameters/family')) {
		my $v = <$f>;
		$fam = $1 if defined $v && $v =~ /^(\d+)/ && $1 > 0;
		close($f);
	}
	return $fam;
}

my $AF_X = family();

sub sockaddr_x {
	my ($port, $addr) = @_;
	$addr = ADDR_LOCAL unless defined $addr;
	return pack("S S L L a4", $AF_X, 0, $port, $addr, "");
}

# (family, port, addr) of a packed struct sockaddr_x
sub unpack_x {
	my ($packed) = @_;
	die "interop.pl: short address (" . length($packed) . " bytes)\n"
		if !defined $packed || length($packed) < 16;
	my ($fam, $res, $port, $addr) = unpack("S S L L", $packed);
	return ($fam, $port, $addr);
}

sub new_socket {
	my ($type) = @_;
	socket(my $s, $AF_X, $type, 0) or die "interop.pl: socket: $!\n";
	return $s;
}

sub local_port {
	my ($s) = @_;
	my $name = getsockname($s) or die "interop.pl: getsockname: $!\n";
	my (undef, $port) = unpack_x($name);
	return $port;
}

sub usage {
	print STDERR "usage: interop.pl dgram-send|dgram-recv|dgram-echo|",
		"dgram-request|stream-client|stream-server|refused|hold ARGS\n";
	exit 2;
}

my $cmd = shift @ARGV or usage();
if ($cmd ne 'hold') {
	$SIG{ALRM} = sub { die "interop.pl $cmd: timed out\n" };
	alarm($ENV{INTEROP_TIMEOUT} || 20);
}

if ($cmd eq 'dgram-send') {
	my $port = shift @ARGV;
	usage() unless defined $port && @ARGV;
	my $s = new_socket(SOCK_DGRAM);
	for my $msg (@ARGV) {
		defined(send($s, $msg, 0, sockaddr_x($port)))
			or die "interop.pl: send to port $port: $!\n";
		print "perl dgram-send: sent \"$msg\" from port ",
			local_port($s), "\n";
	}
	close($s);
} elsif ($cmd eq 'dgram-recv') {
	my $reuse = 0;
	if (@ARGV && $ARGV[0] eq '-r') {
		$reuse = 1;
		shift @ARGV;
	}
	my ($port, $n) = @ARGV;
	usage() unless defined $n;
	my $s = new_socket(SOCK_DGRAM);
	if ($reuse) {
		setsockopt($s, SOL_SOCKET, SO_REUSEADDR, pack("i", 1))
			or die "interop.pl: SO_REUSEADDR: $!\n";
	}
	bind($s, sockaddr_x($port, ADDR_ANY))
		or die "interop.pl: bind port $port: $!\n";
	print "perl dgram-recv: ready on port ", local_port($s), "\n";
	for (1 .. $n) {
		my $buf;
		my $from = recv($s, $buf, 65536, 0);
		die "interop.pl: recv: $!\n" unless defined $from;
		my ($fam, $fport, $faddr) = unpack_x($from);
		printf "perl dgram-recv: %d bytes from family %d port %u addr %u: \"%s\"\n",
			length($buf), $fam, $fport, $faddr, $buf;
	}
	close($s);
} elsif ($cmd eq 'dgram-echo') {
	my ($port, $n) = @ARGV;
	usage() unless defined $n;
	my $s = new_socket(SOCK_DGRAM);
	bind($s, sockaddr_x($port, ADDR_LOCAL))
		or die "interop.pl: bind port $port: $!\n";
	print "perl dgram-echo: ready on port ", local_port($s), "\n";
	for (1 .. $n) {
		my $buf;
		my $from = recv($s, $buf, 65536, 0);
		die "interop.pl: recv: $!\n" unless defined $from;
		my (undef, $fport) = unpack_x($from);
		defined(send($s, $buf, 0, $from))
			or die "interop.pl: send back to port $fport: $!\n";
		printf "perl dgram-echo: echoed %d bytes to port %u\n",
			length($buf), $fport;
	}
	close($s);
} elsif ($cmd eq 'dgram-request') {
	my ($port, $msg) = @ARGV;
	usage() unless defined $msg;
	my $s = new_socket(SOCK_DGRAM);
	defined(send($s, $msg, 0, sockaddr_x($port)))
		or die "interop.pl: send to port $port: $!\n";
	print "perl dgram-request: ready, sent from port ", local_port($s), "\n";
	my $buf;
	my $from = recv($s, $buf, 65536, 0);
	die "interop.pl: recv: $!\n" unless defined $from;
	my (undef, $fport, $faddr) = unpack_x($from);
	printf "perl dgram-request: reply from port %u addr %u: \"%s\"\n",
		$fport, $faddr, $buf;
	close($s);
} elsif ($cmd eq 'stream-client') {
	my ($port, $msg) = @ARGV;
	usage() unless defined $msg;
	my $s = new_socket(SOCK_STREAM);
	connect($s, sockaddr_x($port))
		or die "interop.pl: connect to port $port: $!\n";
	print "perl stream-client: ready, connected from port ",
		local_port($s), "\n";
	my $off = 0;
	while ($off < length($msg)) {
		my $w = syswrite($s, $msg, length($msg) - $off, $off);
		die "interop.pl: write: $!\n" unless defined $w;
		$off += $w;
	}
	shutdown($s, 1) or die "interop.pl: shutdown: $!\n";
	my ($back, $buf) = ('', '');
	while (1) {
		my $r = sysread($s, $buf, 65536);
		die "interop.pl: read: $!\n" unless defined $r;
		last if $r == 0;
		$back .= $buf;
	}
	print "perl stream-client: got back \"$back\"\n";
	close($s);
	exit($back eq $msg ? 0 : 1);
} elsif ($cmd eq 'stream-server') {
	my ($port, $n) = @ARGV;
	usage() unless defined $n;
	my $l = new_socket(SOCK_STREAM);
	bind($l, sockaddr_x($port, ADDR_ANY))
		or die "interop.pl: bind port $port: $!\n";
	listen($l, 8) or die "interop.pl: listen: $!\n";
	print "perl stream-server: ready on port ", local_port($l), "\n";
	for (1 .. $n) {
		my $from = accept(my $c, $l) or die "interop.pl: accept: $!\n";
		my (undef, $fport, $faddr) = unpack_x($from);
		my ($buf, $total) = ('', 0);
		while (1) {
			my $r = sysread($c, $buf, 65536);
			die "interop.pl: read: $!\n" unless defined $r;
			last if $r == 0;
			my $off = 0;
			while ($off < $r) {
				my $w = syswrite($c, $buf, $r - $off, $off);
				die "interop.pl: write: $!\n" unless defined $w;
				$off += $w;
			}
			$total += $r;
		}
		printf "perl stream-server: echoed %d bytes to port %u addr %u\n",
			$total, $fport, $faddr;
		close($c);
	}
	close($l);
} elsif ($cmd eq 'refused') {
	my ($port) = @ARGV;
	usage() unless defined $port;
	my $s = new_socket(SOCK_STREAM);
	my $ok = connect($s, sockaddr_x($port));
	my $e1 = $!;
	my $stream = (!$ok && $!{ECONNREFUSED}) ? 'ECONNREFUSED' : "($e1)";
	close($s);
	my $d = new_socket(SOCK_DGRAM);
	my $sent = send($d, "x", 0, sockaddr_x($port));
	my $e2 = $!;
	my $dgram = (!defined $sent && $!{ECONNREFUSED}) ? 'ECONNREFUSED' : "($e2)";
	close($d);
	print "perl refused: stream $stream dgram $dgram\n";
	exit($stream eq 'ECONNREFUSED' && $dgram eq 'ECONNREFUSED' ? 0 : 1);
} elsif ($cmd eq 'hold') {
	my $s = new_socket(SOCK_DGRAM);
	bind($s, sockaddr_x(0, ADDR_ANY)) or die "interop.pl: bind: $!\n";
	print "perl hold: ready, holding port ", local_port($s), "\n";
	1 while defined(my $line = <STDIN>);
	close($s);
	print "perl hold: released\n";
} else {
	usage();
}
exit 0;
