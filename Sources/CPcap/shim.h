#ifndef VPNSLB_CPCAP_SHIM_H
#define VPNSLB_CPCAP_SHIM_H
#include <pcap/pcap.h>
#include <linux/if_packet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <sys/socket.h>
#include <poll.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/sched.h>

/* Macros Swift cannot import: TPACKET_V3 block and frame walking (packet(7)). */
static inline unsigned int vpnslb_tpacket_align(unsigned int x) { return TPACKET_ALIGN(x); }
static inline unsigned int vpnslb_tpacket3_hdrlen(void) { return TPACKET3_HDRLEN; }

/* setns(2) is declared only under _GNU_SOURCE; call it by number for the network namespace. */
static inline int vpnslb_setns_net(int fd) { return (int)syscall(SYS_setns, fd, CLONE_NEWNET); }
#endif
