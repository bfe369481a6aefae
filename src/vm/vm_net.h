/* SPDX-License-Identifier: Apache-2.0 */
/* vm_net.h - --network proxy under --isolation vm: the guest's TCP
 * connections to the proxy and its DNS queries carried over one
 * virtio-serial port (airlock.net), since the guest has no NIC.
 *
 * Inside, a child of the guest's init listens where the proxy would under
 * namespaces (127.0.0.1:3128, 127.0.0.1:53/udp); on the host, a child of
 * airlock connects each carried connection to the proxy's unix stream
 * socket and each query to its DNS seqpacket socket, exactly as gVisor's
 * relay does.  Both ends run one loop (vm_net.c) on vm_proto.h frames:
 * OPEN, DATA, ACK, EOF and CLOSE per connection (the frame's id), DNS per
 * query.  A side sends at most AL_VM_NET_WINDOW unacknowledged bytes per
 * connection, so one connection whose reader stalls never holds up the
 * others, and nothing either side buffers grows with what the other sends:
 * the host treats the guest as hostile (a frame beyond the window, an
 * unknown kind or a malformed stream ends the connection or the relay). */
#ifndef AIRLOCK_VM_NET_H
#define AIRLOCK_VM_NET_H

#define AL_VM_NET_PORT_NAME "airlock.net"
#define AL_VM_NET_WINDOW (256 * 1024)
#define AL_VM_NET_MAX_CONNS 256
#define AL_VM_NET_DNS_MAX 4096 /* the largest DNS message carried (the stub answers far less) */

/* The guest's side: serve forever (returns only when the port fails)
 * with http_listener (TCP, listening) and dns_socket (UDP, bound). */
int al_vm_net_serve_guest(int port, int http_listener, int dns_socket);

/* The proxy's listeners in the directory the host's side is given */
#define AL_VM_NET_HTTP_SOCK "http.sock" /* stream: HTTP and CONNECT */
#define AL_VM_NET_DNS_SOCK "dns.sock"   /* seqpacket: one query and its answer per connection */
/* and the guest's trust store (AL_VM_PUT_FILE at boot) */
#define AL_VM_NET_CA_BUNDLE "ca-certificates.crt" /* the host's bundle (+ the proxy's CA) */
#define AL_VM_NET_CA_CERT "egress-ca.crt"         /* the proxy's CA: only when it inspects hosts */

/* The host's side: serve until the port closes (QEMU exited); each
 * connection goes to AL_VM_NET_HTTP_SOCK, each query to AL_VM_NET_DNS_SOCK
 * in the directory sock_dir (a descriptor: the relay may run as a uid that
 * cannot reach the directory by its path).  Returns 0 at the port's end,
 * -1 when the guest broke the protocol (the relay ends: so does its
 * network). */
int al_vm_net_serve_host(int port, int sock_dir);

#endif
