#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A first look at kchan (run in the test VM by 'make demo'): Rob Pike's
# load balancer from "Concurrency Is Not Parallelism", with processes for
# goroutines and kchan channels between them; every request carries its
# reply channel inside the message. userlib/examples/loadbalancer.c is
# the program; this script tells what it shows.

set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lb=$repo/build/userlib/examples/loadbalancer

die() {
	echo "demo: $*" >&2
	exit 1
}

[ -x "$lb" ] || die "$lb is missing (make)"
[ -e /dev/chanctl ] || die "/dev/chanctl is missing: is kchan.ko loaded?"

cat <<'TEXT'
kchan demo: Rob Pike's load balancer, as Linux processes and kchan channels

  requesters ---- work ----> balancer ---- w.requests ----> workers
       ^                          ^                            |
       |                          +----------- done -----------+
       +------------ the answer, on the request's own channel -+

Each requester makes its own reply channel and sends it inside every
request (kchan_send_chans): the balancer receives it as a new descriptor,
passes it on to the least loaded worker, and the worker answers on it,
straight to the requester. The balancer keeps the workers in a heap by
pending requests and selects between new requests and done notices.
No locks and no shared memory: each process has only its channels.

TEXT

echo "\$ build/userlib/examples/loadbalancer -v     # the same requests, 1, 2, 4 workers"
out=$("$lb" -v) || die "the load balancer failed:"$'\n'"$out"
echo "$out" | sed -n 's/^loadbalancer: \(.*requester processes.*\)$/  \1/p'
echo

# Who runs where (the round with the most workers), then every round.
echo "$out" | sed -n 's/^loadbalancer: with \(.*\), who runs where:$/Who runs where, with \1:/p'
echo "$out" | grep '^  the balancer:'
echo "$out" | grep '^  requester ' | sort -s -n -k2,2
echo "$out" | grep '^  worker ' | sort -s -n -k2,2
echo
echo "Each answer went on the channel its requester made, which travelled in"
echo "the request: the same channel (#), a new descriptor in every process,"
echo "send-only for the worker."
echo
echo "Requests completed, the load per worker, the throughput:"
echo "$out" | grep -E '^loadbalancer: [0-9]+ workers?:' | sed 's/^loadbalancer: /  /'
echo
rates=$(echo "$out" |
	sed -n 's/^loadbalancer: \([0-9]*\) workers\{0,1\}: .* \([0-9.]*x\)$/\1: \2/p' |
	paste -sd, - | sed 's/,/, /g')
cat <<TEXT
Throughput against one worker, by workers: $rates.
The heap keeps the workers' loads within about one request of each
other. A request is mostly waiting, so more workers than the $(nproc) CPUs
still add throughput: concurrency is not parallelism, and enables it.
TEXT
echo "demo: done (make demo-rendezvous shows a rendezvous on /dev/chan/demo)"
