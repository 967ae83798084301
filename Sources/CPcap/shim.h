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
/* In a TPACKET_V3 frame the sockaddr_ll (packet type, ifindex) follows the aligned header. */
static inline const struct sockaddr_ll *vpnslb_tpacket3_sll(const struct tpacket3_hdr *h) {
    return (const struct sockaddr_ll *)((const char *)h + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
}
/* Block status is shared with the kernel: read and write it with barriers (packet_mmap.rst). */
static inline unsigned int vpnslb_block_status(const struct tpacket_block_desc *b) {
    return __atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
}
static inline void vpnslb_block_release(struct tpacket_block_desc *b) {
    __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/* setns(2) is declared only under _GNU_SOURCE; call it by number for the network namespace. */
static inline int vpnslb_setns_net(int fd) { return (int)syscall(SYS_setns, fd, CLONE_NEWNET); }
/* unshare(2) of the network namespace, likewise by number (used as a capability probe). */
static inline int vpnslb_unshare_net(void) { return (int)syscall(SYS_unshare, CLONE_NEWNET); }

/* sendmmsg(2) and struct mmsghdr are declared only under _GNU_SOURCE: same layout, by number. */
struct vpnslb_mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; };
static inline int vpnslb_sendmmsg(int fd, struct vpnslb_mmsghdr *v, unsigned int n, int flags) {
    return (int)syscall(SYS_sendmmsg, fd, v, n, flags);
}
/* The calling thread's id, for setpriority(PRIO_PROCESS, tid) (glibc's gettid is not imported). */
static inline int vpnslb_gettid(void) { return (int)syscall(SYS_gettid); }
#endif
