// Package filter compiles tcpdump filter expressions (the language of
// pcap-filter(7)) into classic BPF programs, without libpcap or cgo.
//
// Compile produces a program for frames as capture files store them;
// CompileSocket produces one to attach to a Linux packet socket, so that
// the kernel drops what the user did not ask for before it is copied to
// user space. Programs behave as libpcap's do: a test in this package
// compiles each expression of a table and of a random generator with
// both this package and libpcap (tcpdump -ddd) and requires the same
// verdict on every packet of a generated set, for every supported link
// type.
//
// # Expressions
//
// An expression is primitives joined by operators. The empty expression
// accepts every packet.
//
//	host ADDR            IPv4 or IPv6 address as source or destination; an IPv4
//	                     address also matches the sender and target addresses of
//	                     ARP and RARP packets
//	net NET              IPv4 network: 10.0.0.0/8, 10.0.0.0 mask 255.0.0.0, or the
//	                     abbreviations 10, 10.1, 10.1.2 (/8, /16, /24) and 10/8;
//	                     IPv6 network: 2001:db8::/32 (an address alone is a /128)
//	port N               TCP, UDP or SCTP port; N is a number (decimal, 0x hex,
//	                     0 octal) or a service name from the system's services
//	                     database (port sip)
//	portrange A-B        ports A to B inclusive, either order
//	ip  ip6  arp  rarp   the network protocol
//	tcp  udp  sctp       the transport protocol, in IPv4 and IPv6
//	icmp  icmp6          ICMP in IPv4, ICMPv6 in IPv6
//	proto N              IP protocol N in IPv4 or IPv6 (ip proto N, ip6 proto N
//	                     for one of them); N is a number or \tcp, \udp, \sctp,
//	                     \icmp, \icmp6
//	vlan [ID]            an 802.1Q, 802.1ad or 0x9100 VLAN tag, with VLAN ID ID
//	                     when given (0 to 4095); Ethernet only
//	less N  greater N    packet length at most N, at least N
//
// Qualifiers go before the identifier of host, net, port and portrange:
//
//	direction  src, dst, src or dst (the default), src and dst
//	protocol   ip, ip6, arp, rarp before host and net (ip6 only with IPv6
//	           addresses, the others only with IPv4 ones); tcp, udp, sctp
//	           before port and portrange
//
// as in "udp dst port 5060" or "ip6 src net 2001:db8::/32". An identifier
// written alone takes the qualifiers of the primitive before it: "host a
// or b" is "host a or host b", "udp port 5060 or 5061" is "udp port 5060
// or udp port 5061", "host a and not b" is "host a and not host b". An
// identifier with nothing before it to inherit from is an error, as in
// libpcap.
//
// Operators are and (&&), or (||), not (!) and parentheses. not binds
// tightest; and and or have the same precedence and group from the left,
// so "a or b and c" is "(a or b) and c".
//
// # Protocol details
//
// As libpcap does: IPv4 ports are read behind the header length the IHL
// gives, and only in first fragments (fragment offset 0); IPv6 ports only
// when the transport header follows the fixed header directly. tcp, udp,
// sctp, icmp6 and proto also find their protocol behind one IPv6
// Fragment header; no other IPv6 extension header is walked.
//
// Every vlan keyword moves the headers of the primitives written after it
// by one tag, whatever the parentheses and operators: "vlan 100 and udp"
// looks for UDP inside VLAN 100, and in "udp or vlan and udp" the second
// udp is looked for behind a tag while the first is not. This is
// libpcap's rule.
//
// # Link types
//
// Compile supports Ethernet (LINKTYPE_ETHERNET), Linux cooked capture v1
// and v2 (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2), raw IP
// (LINKTYPE_RAW), raw IPv4 and raw IPv6 (LINKTYPE_IPV4, LINKTYPE_IPV6).
// vlan works on Ethernet only; elsewhere it is an error, as in libpcap.
//
// CompileSocket supports Ethernet and raw IP devices. The Linux kernel
// takes the outermost VLAN tag out of a frame before a socket filter sees
// it and keeps it as metadata; there the first vlan keyword matches that
// metadata tag or, when there is none, a tag still in the frame, and
// primitives before any vlan keyword look at the frame as the kernel
// shows it (so "udp port 5060" also catches that traffic on a VLAN
// trunk). This is what libpcap does on Linux. A socket bound to no device
// gets a program that judges each frame by its device's link type.
//
// # Not supported
//
// Host names (write the address; they are not resolved), ether and MAC
// addresses, gateway, broadcast and multicast, byte-offset expressions
// and arithmetic (udp[8] & 0x80 = 0x80, len), protochain, inbound and
// outbound, ifname, mpls, pppoes, geneve, vxlan, the 802.11 and pflog
// qualifiers, and the other protocol names of pcap-filter(7) (igmp, pim,
// vrrp, ah, esp, stp, ...): each is an error naming its position.
//
// Programs are at most 4096 instructions, the kernel's limit; a longer
// one is an error.
package filter
