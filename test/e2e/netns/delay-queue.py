#!/usr/bin/env python3
"""netem's `delay <ms> loss <percent>` for a kernel built without sch_netem.

Run inside a network namespace, it binds netfilter queue <queue> (fed by an iptables NFQUEUE rule
on the host's way out) and gives each packet its verdict: dropped with probability <percent>,
otherwise let through <ms> after it came, in the order they came. Only the packets' ids cross
into this process (COPY_META), never their bytes. It prints `ready` once bound, a JSON line of its
counts on SIGUSR1 and on SIGTERM, and exits on SIGTERM.

usage: delay-queue.py <queue> <ms> <percent>
"""
import collections
import errno
import json
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
SO_RCVBUFFORCE = 33
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_DROP, NF_ACCEPT = 0, 1

queue, delay_s, loss = int(sys.argv[1]), float(sys.argv[2]) / 1000, float(sys.argv[3]) / 100
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
# room for a burst of notices: one the socket has no room for is a packet dropped
sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
sock.bind((0, 0))


def attribute(kind, payload):
    return struct.pack('=HH', 4 + len(payload), kind) + payload + b'\0' * (-len(payload) % 4)


def send(kind, attributes, flags=NLM_F_REQUEST):
    # nfgenmsg: family, version, then the queue number in network order
    body = struct.pack('=BB', socket.AF_UNSPEC, 0) + struct.pack('!H', queue) + b''.join(attributes)
    sock.send(struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body)


def messages(data):
    at = 0
    while at + 16 <= len(data):
        length, kind = struct.unpack_from('=IH', data, at)
        yield kind, data[at + 16:at + length]
        at += (length + 3) & ~3


def attributes(body):
    at = 4  # past the nfgenmsg
    while at + 4 <= len(body):
        length, kind = struct.unpack_from('=HH', body, at)
        yield kind & 0x3fff, body[at + 4:at + length]
        at += (length + 3) & ~3


def configure(attrs):
    send(NFQNL_MSG_CONFIG, attrs, NLM_F_REQUEST | NLM_F_ACK)
    for kind, body in messages(sock.recv(65536)):
        if kind == NLMSG_ERROR and struct.unpack_from('=i', body)[0] != 0:
            sys.exit(f'delay-queue: the kernel refused queue {queue} (errno {-struct.unpack_from("=i", body)[0]})')


configure([attribute(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_BIND, 0, socket.AF_INET))])
configure([attribute(NFQA_CFG_PARAMS, struct.pack('!IB', 0, NFQNL_COPY_META)),
           attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack('!I', 65536))])

counts = {'packets': 0, 'dropped': 0}


def report(*_):
    print(json.dumps(counts), flush=True)


def stop(*_):
    report()
    sys.exit(0)


signal.signal(signal.SIGUSR1, report)
signal.signal(signal.SIGTERM, stop)
print('ready', flush=True)


def verdict(packet, what):
    send(NFQNL_MSG_VERDICT, [attribute(NFQA_VERDICT_HDR, struct.pack('!II', what, packet))])


waiting = collections.deque()  # (when it may go, packet id), oldest first
while True:
    timeout = None if not waiting else max(0.0, waiting[0][0] - time.monotonic())
    try:
        data = sock.recv(1 << 20) if select.select([sock], [], [], timeout)[0] else b''
    except InterruptedError:
        continue
    except OSError as err:
        if err.errno != errno.ENOBUFS:
            raise
        data = b''
    now = time.monotonic()
    for kind, body in messages(data):
        if kind != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            continue
        for attr, value in attributes(body):
            if attr != NFQA_PACKET_HDR:
                continue
            packet = struct.unpack_from('!I', value)[0]
            counts['packets'] += 1
            if random.random() < loss:
                counts['dropped'] += 1
                verdict(packet, NF_DROP)
            else:
                waiting.append((now + delay_s, packet))
    while waiting and waiting[0][0] <= now:
        verdict(waiting.popleft()[1], NF_ACCEPT)
