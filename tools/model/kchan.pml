/*
 * SPDX-License-Identifier: GPL-2.0
 *
 * kchan's commit protocol in Promela, for SPIN (see tools/model/README).
 *
 * Each kchan.lock critical section is one d_step (it holds the channel's
 * lock and, nested, the waiter locks it needs; sections on different
 * channels touch different state or serialise on a waiter lock, so one
 * indivisible step per section loses no interleaving that matters). A
 * section under a waiter lock alone (kchan_cancel()) is one step too.
 * Everything a task does unlocked (sampling its state, sleeping, copying
 * out) is a step of its own, so every interleaving of the sections is
 * explored. Each inline and proctype is named after the C function it
 * stands for.
 *
 * The lockless peeks at a waiter's state (kchan_first_live(),
 * kchan_other_receiver()) are the state under its lock, except that the
 * first section on a channel after a persistent select's rearm may have
 * peeked before it, and seen the select done (p_stale): that section and
 * the rearm share no lock. Only kchan_drop_dead()'s reading again under
 * the waiter's lock makes that harmless.
 *
 * Mutants (the defects this model must find):
 *   -DMUTANT_CLOSE_SKIPS_CLAIMED  close and end-of-file skip a claimed
 *      waiter's tickets (kchan_first_live() in kchan_close()/kchan_eof())
 *   -DMUTANT_CANCEL_WAKE  a select file's queue is woken with
 *      wake_up_interruptible_poll(), which never wakes the TASK_KILLABLE
 *      canceller of kchan_selfd_cancel_locked()
 *   -DMUTANT_REARM_UNLOCKED  kchan_sel_rearm() before fe1d6e2: the
 *      persistent select is waiting again before its unqueued list is
 *      drained, outside the waiter's lock (a closed case left in order[])
 *   -DMUTANT_DROP_ON_PEEK  kchan_first_live() and kchan_other_receiver()
 *      before fe1d6e2: a persistent select's ticket is dropped and listed
 *      on the lockless peek alone (a ready case stranded off its queue)
 *   -DMUTANT_FILL_NO_EOF  kchan_fill_done() does not run kchan_eof() once
 *      the filled message is no longer in flight
 */

#ifndef WORLD
#define WORLD 0
#endif

#define NONE	255

/* kchan_waiter.state */
#define W_WAITING	0
#define W_CLAIMED	1
#define W_DONE		2
#define W_CANCELLED	3
#define W_FILLED	4	/* a sender is copying into our buffer */

/* task state: TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_KILLABLE */
#define T_RUN	0
#define T_INTR	1
#define T_KILL	2
#define T_UNINT	3

/* kchan_waiter.result, as the owner sees it */
#define R_NONE	0
#define R_LEN	1	/* msg->len: sent, or a message handed over */
#define R_EOF	2	/* 0: closed and drained */
#define R_EPIPE	3
#define R_EFAULT	4	/* a select file's copy to its case's buffer failed */

/* sendres[]: what the send of a message reported */
#define S_PENDING	0
#define S_OK		1
#define S_FAILED	2

#define NCH	3	/* channels */
#define NW	5	/* waiters */
#define NT	8	/* tickets */
#define NM	4	/* messages */
#define QMAX	NT	/* queue slots per channel */
#define BMAX	3	/* buffer slots per channel */

/* struct kchan, guarded by kchan.lock */
byte cap[NCH];
bool closed[NCH];
byte count[NCH];
byte taken[NCH];
byte inflight[NCH];
byte buf[NCH * BMAX];
byte sendq[NCH * QMAX];
byte nsend[NCH];
byte recvq[NCH * QMAX];
byte nrecv[NCH];

/* struct kchan_ticket: fixed per world; queued == !list_empty(&t->node) */
byte t_w[NT];
byte t_ch[NT];
bool t_send[NT];
byte t_msg[NT];
bool t_queued[NT];
bool t_to[NT];		/* a lone blocking read's buffer, in the senders' mm */
/* a persistent select's ticket: on its unqueued list, in order[], or
 * left the set (its chan cleared) */
bool t_listed[NT];
bool t_pending[NT];
bool t_gone[NT];

/* struct kchan_waiter, guarded by its lock */
byte w_state[NW];
byte w_done[NW];
byte w_result[NW];
byte w_msg[NW];
byte w_closed[NW];
bool w_reoffer[NW];
bool w_wq[NW];		/* an armed select file: wakes a queue, not a task */
bool w_persist[NW];	/* KCHAN_SELECT_PERSIST */
byte w_first[NW];	/* its tickets: w_first .. w_first + w_nr - 1 */
byte w_nr[NW];
byte w_commits[NW];	/* commits since the wait began: at most one */
/* the owner task */
byte ts[NW];		/* its task state */
byte w_seen[NW];	/* the state it sampled before it went to sleep */

/* struct kchan_msg */
byte m_sender[NM];	/* the claimed sender's ticket */
bool m_kept[NM];
bool m_slot[NM];	/* holds_slot */
byte recvd[NM];		/* copied out to a receiver */
byte sendres[NM];

byte running;		/* tasks still in a call */

/*
 * The first section on channel c since a persistent select's rearm may
 * have peeked at its state (kchan_first_live(), kchan_other_receiver())
 * before the rearm, when it was done: the peek is lockless, the rearm
 * takes only the waiter's lock.
 */
bool p_stale[NCH];

/* scratch of the d_steps, not part of the state */
hidden byte uq_i, uq_b;
hidden byte fl_i, fl_t, fl_s, fl_p;
hidden byte fl_d;
hidden byte mt_r, mt_s, mt_m, mt_w, mt_i;
hidden byte cm_w;
hidden byte et_w, et_i, et_t;
hidden byte st_p, st_w, st_c;
hidden byte ok;

/* ---- chan.c ---- */

/* kchan_waiter_wake() */
inline kchan_waiter_wake(w)
{
	if
	:: w_wq[w] ->
#ifdef MUTANT_CANCEL_WAKE
		/* wake_up_interruptible_poll() */
		if
		:: ts[w] == T_INTR -> ts[w] = T_RUN
		:: else -> skip
		fi
#else
		/* wake_up_poll(): TASK_NORMAL */
		ts[w] = T_RUN
#endif
	:: else -> ts[w] = T_RUN	/* wake_up_process() */
	fi
}

/* kchan_commit(): t's waiter lock held */
inline kchan_commit(t, res)
{
	cm_w = t_w[t];
	/* one commit per waiter: the state leaves WAITING (or a claim) once */
	assert(w_state[cm_w] == W_WAITING || w_state[cm_w] == W_CLAIMED ||
	       w_state[cm_w] == W_FILLED);
	assert(w_commits[cm_w] == 0);
	w_commits[cm_w]++;
	w_done[cm_w] = t;
	w_result[cm_w] = res;
	w_state[cm_w] = W_DONE;
	kchan_waiter_wake(cm_w)
}

/* kchan_enqueue() */
inline kchan_enqueue(c, t)
{
	assert(!t_queued[t] && !t_listed[t] && !t_pending[t]);
	if
	:: t_send[t] -> sendq[c * QMAX + nsend[c]] = t; nsend[c]++
	:: else -> recvq[c * QMAX + nrecv[c]] = t; nrecv[c]++
	fi;
	t_queued[t] = true
}

/* list_add(&peer->node, &ch->sendq): back at the head */
inline kchan_enqueue_head(c, t)
{
	assert(!t_queued[t] && t_send[t]);
	uq_i = nsend[c];
	do
	:: uq_i > 0 -> sendq[c * QMAX + uq_i] = sendq[c * QMAX + uq_i - 1];
		uq_i--
	:: else -> break
	od;
	sendq[c * QMAX] = t;
	nsend[c]++;
	t_queued[t] = true
}

/*
 * kchan_unqueue(); a persistent select's ticket is listed
 * (kchan_selfd_unqueued())
 */
inline kchan_unqueue(c, t)
{
	assert(t_queued[t]);
	uq_b = c * QMAX;
	uq_i = 0;
	if
	:: t_send[t] ->
		do
		:: sendq[uq_b + uq_i] == t -> break
		:: else -> uq_i++
		od;
		do
		:: uq_i + 1 < nsend[c] ->
			sendq[uq_b + uq_i] = sendq[uq_b + uq_i + 1]; uq_i++
		:: else -> break
		od;
		nsend[c]--;
		sendq[uq_b + nsend[c]] = 0
	:: else ->
		do
		:: recvq[uq_b + uq_i] == t -> break
		:: else -> uq_i++
		od;
		do
		:: uq_i + 1 < nrecv[c] ->
			recvq[uq_b + uq_i] = recvq[uq_b + uq_i + 1]; uq_i++
		:: else -> break
		od;
		nrecv[c]--;
		recvq[uq_b + nrecv[c]] = 0
	fi;
	t_queued[t] = false;
	if
	:: w_persist[t_w[t]] ->
		/* a ticket is queued, listed or in order[], one at a time */
		assert(!t_listed[t] && !t_pending[t]);
		t_listed[t] = true
	:: else -> skip
	fi
}

/* buffer: list_add_tail / list_add / list_first_entry + list_del */
inline buf_add_tail(c, m)
{
	assert(count[c] < BMAX);
	buf[c * BMAX + count[c]] = m;
	count[c]++
}

inline buf_add_head(c, m)
{
	assert(count[c] < BMAX);
	uq_i = count[c];
	do
	:: uq_i > 0 -> buf[c * BMAX + uq_i] = buf[c * BMAX + uq_i - 1]; uq_i--
	:: else -> break
	od;
	buf[c * BMAX] = m;
	count[c]++
}

inline buf_del_head(c, m)
{
	m = buf[c * BMAX];
	uq_i = 0;
	do
	:: uq_i + 1 < count[c] ->
		buf[c * BMAX + uq_i] = buf[c * BMAX + uq_i + 1]; uq_i++
	:: else -> break
	od;
	count[c]--;
	buf[c * BMAX + count[c]] = 0
}

/*
 * READ_ONCE(t->waiter->state) on channel c, into fl_p: a persistent
 * select's, in the first section since its rearm, as it was before it
 * (p_stale).
 */
inline kchan_peek(c, t)
{
	fl_p = w_state[t_w[t]];
	if
	:: fl_p == W_WAITING && w_persist[t_w[t]] && p_stale[c] -> fl_p = W_DONE
	:: else -> skip
	fi
}

/*
 * kchan_drop_dead(): t, whose waiter a peek saw dead, leaves its queue;
 * a persistent select's only if its state, read again under its lock,
 * says so (it may have been rearmed since the peek). fl_d: dropped.
 */
inline kchan_drop_dead(c, t)
{
	if
	:: !w_persist[t_w[t]] -> kchan_unqueue(c, t); fl_d = true
	:: else ->
#ifdef MUTANT_DROP_ON_PEEK
		/* before fe1d6e2: dropped (and listed) on the peek */
		kchan_unqueue(c, t); fl_d = true
#else
		fl_d = (w_state[t_w[t]] != W_WAITING);
		if
		:: fl_d -> kchan_unqueue(c, t)
		:: else -> skip
		fi
#endif
	fi
}

/*
 * kchan_first_live(): the first ticket on the queue whose waiter may be
 * matched, skipping waiter skip and claimed ones, dropping dead ones.
 * Result in fl_t (NONE if none).
 */
inline kchan_first_live(c, send, skipw)
{
	fl_i = 0;
	fl_t = NONE;
	do
	:: send && fl_i < nsend[c] || !send && fl_i < nrecv[c] ->
		if
		:: send -> fl_s = sendq[c * QMAX + fl_i]
		:: else -> fl_s = recvq[c * QMAX + fl_i]
		fi;
		kchan_peek(c, fl_s);
		if
		:: t_w[fl_s] == skipw || fl_p == W_CLAIMED -> fl_i++
		:: fl_p == W_WAITING -> fl_t = fl_s; break
		:: else ->
			kchan_drop_dead(c, fl_s);
			if
			:: !fl_d -> fl_t = fl_s; break
			:: else -> skip
			fi
		fi
	:: else -> break
	od
}

/* kchan_deliver() */
inline kchan_deliver(c, r, m)
{
	kchan_unqueue(c, r);
	w_msg[t_w[r]] = m;
	inflight[c]++;
	kchan_commit(r, R_LEN)
}

/* kchan_take_head() of chan.c, a matched receiver takes the buffer's head */
inline kchan_take_head_match(c, r)
{
	if
	:: w_state[t_w[r]] == W_WAITING ->
		buf_del_head(c, mt_m);
		taken[c]++;
		m_slot[mt_m] = true;
		kchan_deliver(c, r, mt_m)
	:: else -> skip
	fi
}

/* kchan_handoff_room() */
#define kchan_handoff_room(c)	(cap[c] == 0 || count[c] + taken[c] < cap[c])

/* kchan_handoff() */
inline kchan_handoff(c, r, s)
{
	if
	:: w_state[t_w[r]] == W_WAITING && w_state[t_w[s]] == W_WAITING ->
		/* no ticket of a closed channel commits a send */
		assert(!closed[c]);
		kchan_unqueue(c, s);
		mt_m = t_msg[s];
		if
		:: cap[c] > 0 || w_wq[t_w[r]] ->
			/* buffered, or an armed select's custody */
			m_kept[mt_m] = (cap[c] == 0);
			if
			:: cap[c] > 0 -> m_slot[mt_m] = true; taken[c]++
			:: else -> skip
			fi;
			kchan_commit(s, R_LEN);
			kchan_deliver(c, r, mt_m)
		:: else ->
			/* rendezvous: claimed until the copy-out settles */
			w_state[t_w[s]] = W_CLAIMED;
			w_done[t_w[s]] = s;
			m_sender[mt_m] = s;
			kchan_deliver(c, r, mt_m)
		fi
	:: else -> skip
	fi
}

/* kchan_buffer_sender() */
inline kchan_buffer_sender(c, s)
{
	if
	:: w_state[t_w[s]] == W_WAITING ->
		assert(!closed[c]);
		kchan_unqueue(c, s);
		buf_add_tail(c, t_msg[s]);
		kchan_commit(s, R_LEN)
	:: else -> skip
	fi
}

/*
 * kchan_other_receiver(): when the first live receiver's waiter holds the
 * first live sender, a receiver of another waiter, dropping the dead ones
 * it passes. mt_r/mt_s, or NONE.
 */
inline kchan_other_receiver(c)
{
	kchan_first_live(c, true, NONE);
	mt_s = fl_t;
	mt_r = NONE;
	if
	:: mt_s != NONE ->
		mt_i = 0;
		do
		:: mt_i < nrecv[c] ->
			fl_s = recvq[c * QMAX + mt_i];
			kchan_peek(c, fl_s);
			if
			:: t_w[fl_s] == t_w[mt_s] || fl_p == W_CLAIMED -> mt_i++
			:: fl_p == W_WAITING -> mt_r = fl_s; break
			:: else ->
				kchan_drop_dead(c, fl_s);
				if
				:: !fl_d -> mt_r = fl_s; break
				:: else -> skip
				fi
			fi
		:: else -> break
		od
	:: else -> skip
	fi;
	if
	:: mt_r == NONE -> mt_s = NONE
	:: else -> skip
	fi
}

/* kchan_match() */
inline kchan_match(c)
{
	do
	:: true ->
		kchan_first_live(c, false, NONE);
		mt_r = fl_t;
		if
		:: mt_r != NONE && count[c] > 0 ->
			kchan_take_head_match(c, mt_r)
		:: else ->
			mt_s = NONE;
			if
			:: mt_r != NONE && kchan_handoff_room(c) ->
				kchan_first_live(c, true, t_w[mt_r]);
				mt_s = fl_t;
				if
				:: mt_s == NONE -> kchan_other_receiver(c)
				:: else -> skip
				fi
			:: else -> skip
			fi;
			if
			:: mt_r != NONE && mt_s != NONE ->
				kchan_handoff(c, mt_r, mt_s)
			:: else ->
				kchan_first_live(c, true, NONE);
				mt_s = fl_t;
				if
				:: mt_s != NONE && count[c] + taken[c] < cap[c] ->
					kchan_buffer_sender(c, mt_s)
				:: else -> break
				fi
			fi
		fi
	od;
	p_stale[c] = false;
	mt_r = 0; mt_s = 0; mt_m = 0; mt_i = 0
}

/* kchan_drained() */
#define kchan_drained(c)	(closed[c] && count[c] == 0 && inflight[c] == 0)

/*
 * kchan_end_ticket(): t's channel closed (a send) or drained after its
 * close (a receive). A claimed waiter's ticket is recorded, so that a
 * claim that falls through ends the wait there.
 */
inline kchan_end_ticket(c, t, res)
{
	et_w = t_w[t];
#ifdef MUTANT_CLOSE_SKIPS_CLAIMED
	/* kchan_first_live() + kchan_try_commit(): claimed ones stay */
	if
	:: w_state[et_w] == W_CLAIMED -> skip
	:: else ->
		if
		:: t_queued[t] -> kchan_unqueue(c, t)
		:: else -> skip
		fi;
		if
		:: w_state[et_w] == W_WAITING ->
			w_msg[et_w] = NONE;
			kchan_commit(t, res)
		:: else -> skip
		fi
	fi
#else
	if
	:: t_queued[t] -> kchan_unqueue(c, t)
	:: else -> skip
	fi;
	if
	:: w_state[et_w] == W_WAITING ->
		w_msg[et_w] = NONE;
		kchan_commit(t, res)
	:: w_state[et_w] == W_CLAIMED && w_closed[et_w] == NONE ->
		w_closed[et_w] = t
	:: else -> skip
	fi
#endif
}

/* list_for_each_entry_safe(t, tmp, q, node) kchan_end_ticket(t) */
inline end_queue(c, send, res)
{
	et_i = 0;
	do
	:: send && et_i < nsend[c] || !send && et_i < nrecv[c] ->
		if
		:: send -> et_t = sendq[c * QMAX + et_i]
		:: else -> et_t = recvq[c * QMAX + et_i]
		fi;
		kchan_end_ticket(c, et_t, res);
		if
		:: t_queued[et_t] -> et_i++	/* left on the queue */
		:: else -> skip
		fi
	:: else -> break
	od;
	et_i = 0; et_t = 0; et_w = 0
}

/* kchan_eof() */
inline kchan_eof(c)
{
	if
	:: kchan_drained(c) -> end_queue(c, false, R_EOF)
	:: else -> skip
	fi;
	p_stale[c] = false
}

/* kchan_close(): one kchan.lock section */
inline kchan_close(c)
{
	d_step {
		if
		:: !closed[c] ->
			closed[c] = true;
			end_queue(c, true, R_EPIPE);
			kchan_eof(c)
		:: else -> skip
		fi;
		p_stale[c] = false
	}
}

/* ---- xfer.c (waiting) and chan.c (the offer, the settling) ---- */

/* kchan_cancel(): under w->lock; then kchan_unqueue_all() */
inline kchan_cancel(w, res)
{
	d_step {
		if
		:: w_state[w] == W_WAITING -> w_state[w] = W_CANCELLED; res = true
		:: else -> res = false
		fi
	};
	if
	:: res -> kchan_unqueue_all(w)
	:: else -> skip
	fi
}

/* kchan_unqueue_all(): each channel's lock in turn */
inline kchan_unqueue_all(w)
{
	ui = 0;
	do
	:: ui < w_nr[w] ->
		d_step {
			if
			:: w_first[w] + ui != w_done[w] &&
			   t_queued[w_first[w] + ui] ->
				kchan_unqueue(t_ch[w_first[w] + ui],
					      w_first[w] + ui);
				p_stale[t_ch[w_first[w] + ui]] = false
			:: else -> skip
			fi
		};
		ui++
	:: else -> break
	od;
	ui = 0
}

/* kchan_reoffer(): a claim fell through, offer the other cases again */
inline kchan_reoffer(w)
{
	ui = 0;
	do
	:: ui < w_nr[w] ->
		d_step {
			if
			:: w_state[w] == W_WAITING && t_queued[w_first[w] + ui] ->
				kchan_match(t_ch[w_first[w] + ui]);
				kchan_eof(t_ch[w_first[w] + ui])
			:: else -> skip
			fi
		};
		ui++
	:: else -> break
	od;
	ui = 0
}

/*
 * kchan_wait(): sample the state; sleep interruptible while waiting,
 * killable while claimed, uninterruptible while filled; a signal (at
 * most sig of them) cancels a waiting waiter. cancelled is set if it
 * gave up.
 */
inline kchan_wait(w, sig, cancelled)
{
	cancelled = false;
	do
	:: true ->
		d_step {
			w_seen[w] = w_state[w];
			if
			:: w_seen[w] == W_DONE -> ts[w] = T_RUN
			:: w_seen[w] == W_WAITING && w_reoffer[w] -> ts[w] = T_RUN
			:: w_seen[w] == W_CLAIMED -> ts[w] = T_KILL
			:: w_seen[w] == W_FILLED -> ts[w] = T_UNINT
			:: else -> ts[w] = T_INTR
			fi
		};
		if
		:: w_seen[w] == W_DONE -> break
		:: w_seen[w] == W_WAITING && w_reoffer[w] ->
			w_reoffer[w] = false;
			kchan_reoffer(w)
		:: else ->
			/* schedule(); or a signal while waiting */
			if
			:: ts[w] == T_RUN
			:: w_seen[w] == W_WAITING && sig > 0 && ts[w] == T_INTR ->
				sig--;
				ts[w] = T_RUN;
				kchan_cancel(w, cancelled);
				if
				:: cancelled -> break
				:: else -> skip
				fi
			fi
		fi
	od;
	w_seen[w] = 0;
	if
	:: !cancelled && w_nr[w] > 1 -> kchan_unqueue_all(w)
	:: else -> skip
	fi
}

/* kchan_unclaim_locked(): a claimed sender's copy fell through */
inline kchan_unclaim_locked(c, peer)
{
	st_w = t_w[peer];
	st_c = w_closed[st_w];
	w_closed[st_w] = NONE;
	if
	:: closed[c] -> kchan_commit(peer, R_EPIPE)
	:: !closed[c] && st_c != NONE ->
		if
		:: t_send[st_c] -> kchan_commit(st_c, R_EPIPE)
		:: else -> kchan_commit(st_c, R_EOF)
		fi
	:: else ->
		w_state[st_w] = W_WAITING;
		w_done[st_w] = NONE;
		if
		:: w_nr[st_w] > 1 -> w_reoffer[st_w] = true
		:: else -> skip
		fi;
		kchan_enqueue_head(c, peer);
		kchan_waiter_wake(st_w)
	fi
}

/* kchan_settle_locked() */
inline kchan_settle_locked(c, m, copied)
{
	st_p = m_sender[m];
	m_sender[m] = NONE;
	inflight[c]--;
	if
	:: m_slot[m] -> m_slot[m] = false; taken[c]--
	:: else -> skip
	fi;
	if
	:: copied ->
		recvd[m]++;
		/* exactly once: no message is received twice */
		assert(recvd[m] == 1);
		if
		:: st_p != NONE -> kchan_commit(st_p, R_LEN)
		:: else -> skip
		fi
	:: !copied && st_p != NONE -> kchan_unclaim_locked(c, st_p)
	:: else ->
		assert(cap[c] > 0 || m_kept[m]);
		buf_add_head(c, m)
	fi;
	st_p = 0; st_w = 0; st_c = 0
}

/* kchan_settle(): kchan_settle_run() for one message */
inline kchan_settle(c, m, copied)
{
	d_step {
		kchan_settle_locked(c, m, copied);
		kchan_match(c);
		kchan_eof(c)
	}
}

/*
 * kchan_copy_to_user() / kchan_copy_to_iter(): the copy with page faults
 * disabled may fault (at most fault times); then kchan_unclaim() puts a
 * claimed sender back (again = true), else the copy with faults may fail.
 */
inline kchan_copy_out(c, m, fault, again, copied)
{
	again = false;
	if
	:: copied = true
	:: fault > 0 ->
		fault--;
		d_step {	/* kchan_unclaim() */
			if
			:: m_sender[m] != NONE ->
				again = true;
				kchan_settle_locked(c, m, false);
				kchan_match(c);
				kchan_eof(c)
			:: else -> skip
			fi
		};
		if
		:: again -> copied = false
		:: else ->
			if
			:: copied = true
			:: copied = false	/* -EFAULT */
			fi
		fi
	fi
}

inline waiter_init(w)
{
	w_state[w] = W_WAITING;
	w_done[w] = NONE;
	w_result[w] = R_NONE;
	w_msg[w] = NONE;
	w_closed[w] = NONE;
	w_reoffer[w] = false;
	w_commits[w] = 0
}

/*
 * kchan_give_direct(): a lone send on a rendezvous channel with nobody
 * queued to send goes to the first live receiver, unless that is an
 * armed select's: it fills a lone blocking read of its address space
 * (kchan_can_fill(): t_to), which leaves its queue KCHAN_W_FILLED, its
 * message in flight; any other receiver claims it at once. fl_t: the
 * receiver, or NONE (not given).
 */
inline kchan_give_direct(c, t)
{
	fl_t = NONE;
	if
	:: cap[c] == 0 && !closed[c] && nsend[c] == 0 && nrecv[c] > 0 ->
		kchan_first_live(c, false, NONE);
		if
		:: fl_t != NONE && w_wq[t_w[fl_t]] -> fl_t = NONE
		:: else -> skip
		fi
	:: else -> skip
	fi;
	if
	:: fl_t != NONE && t_to[fl_t] ->
		kchan_unqueue(c, fl_t);
		inflight[c]++;
		w_state[t_w[fl_t]] = W_FILLED;
		w_done[t_w[fl_t]] = fl_t
	:: fl_t != NONE && !t_to[fl_t] ->
		/* kchan_claim() + kchan_deliver(), t never queued */
		w_state[t_w[t]] = W_CLAIMED;
		w_done[t_w[t]] = t;
		m_sender[t_msg[t]] = t;
		kchan_deliver(c, fl_t, t_msg[t])
	:: else -> skip
	fi
}

/*
 * kchan_fill_done(): the sender's copy into filled receiver r's buffer
 * is over. Copied: received, the receive completes with no message.
 * Not: the sender is claimed and the message handed to the receiver,
 * which copies it itself. Either way the channel may now be drained.
 */
inline kchan_fill_done(c, t, r, copied)
{
	assert(w_state[t_w[r]] == W_FILLED && w_state[t_w[t]] == W_WAITING);
	if
	:: copied ->
		inflight[c]--;
		recvd[t_msg[t]]++;
		assert(recvd[t_msg[t]] == 1);
		w_msg[t_w[r]] = NONE;
		kchan_commit(r, R_LEN)
	:: else ->
		w_state[t_w[t]] = W_CLAIMED;	/* kchan_claim_out() */
		w_done[t_w[t]] = t;
		m_sender[t_msg[t]] = t;
		w_msg[t_w[r]] = t_msg[t];	/* kchan_hand() */
		kchan_commit(r, R_LEN)
	fi;
#ifndef MUTANT_FILL_NO_EOF
	kchan_eof(c);
#endif
	p_stale[c] = false
}

/* kchan_send(): a plain write of message t_msg[t] */
proctype kchan_send(byte w; byte t; byte sig)
{
	byte c = t_ch[t];
	bool direct = false, cancelled = false, copied;
	byte fill = NONE;
	byte ui;	/* kchan_unqueue_all(), kchan_reoffer() */

	/* kchan_offer(KCHAN_OFFER_DIRECT) */
	d_step {
		kchan_give_direct(c, t);
		fill = fl_t;
		if
		:: fill != NONE && t_to[fill] -> skip
		:: fill != NONE -> skip	/* claimed: wait */
		:: closed[c] -> w_result[w] = R_EPIPE; direct = true
		:: !closed[c] && count[c] + taken[c] < cap[c] &&
		   nsend[c] == 0 && nrecv[c] == 0 ->
			/* kchan_send_direct() */
			buf_add_tail(c, t_msg[t]);
			w_result[w] = R_LEN;
			direct = true
		:: else ->
			kchan_enqueue(c, t);
			kchan_match(c)
		fi;
		if
		:: fill != NONE && !t_to[fill] -> fill = NONE
		:: else -> skip
		fi;
		p_stale[c] = false;
		fl_t = 0
	};
	if
	:: fill != NONE ->
		/* kchan_fill(): copied, page faults disabled, no lock held */
		if
		:: copied = true
		:: copied = false
		fi;
		d_step { kchan_fill_done(c, t, fill, copied) };
		if
		:: copied -> w_result[w] = R_LEN; direct = true
		:: else -> skip
		fi
	:: else -> skip
	fi;
	if
	:: !direct -> kchan_wait(w, sig, cancelled)
	:: else -> skip
	fi;
	d_step {
		if
		:: !cancelled && w_result[w] == R_LEN -> sendres[t_msg[t]] = S_OK
		:: else -> sendres[t_msg[t]] = S_FAILED
		fi;
		running--
	}
}

/*
 * kchan_recv(): kchan_take(), copy out, settle; a claimed sender's message
 * whose copy would fault goes back with its sender, and it takes again.
 */
proctype kchan_recv(byte w; byte t; byte sig; byte fault)
{
	byte c = t_ch[t];
	byte m;
	bool got, again, copied, cancelled;
	byte ui;

take:
	got = false;
	d_step {
		waiter_init(w);
		m = NONE;
		if
		:: count[c] > 0 && nrecv[c] == 0 ->
			/* kchan_take_direct() of chan.c */
			buf_del_head(c, m);
			taken[c]++;
			m_slot[m] = true;
			inflight[c]++;
			got = true
		:: else ->
			kchan_enqueue(c, t);
			kchan_match(c);
			if
			:: w_state[w] == W_WAITING && kchan_drained(c) ->
				kchan_unqueue(c, t);
				w_result[w] = R_EOF;
				got = true
			:: else -> skip
			fi
		fi
	};
	if
	:: !got ->
		kchan_wait(w, sig, cancelled);
		if
		:: !cancelled && w_result[w] == R_LEN -> m = w_msg[w]
		:: else -> skip
		fi
	:: else -> skip
	fi;
	if
	:: m != NONE ->
		kchan_copy_out(c, m, fault, again, copied);
		if
		:: again -> goto take
		:: else -> kchan_settle(c, m, copied)
		fi
	:: else -> skip
	fi;
	running--
}

/* ---- select.c ---- */

/* kchan_sel_offer() */
inline kchan_sel_offer(w, t)
{
	d_step {
		if
		:: t_send[t] && closed[t_ch[t]] ->
			kchan_end_ticket(t_ch[t], t, R_EPIPE)
		:: else ->
			kchan_enqueue(t_ch[t], t);
			kchan_match(t_ch[t]);
			if
			:: !t_send[t] && kchan_drained(t_ch[t]) ->
				kchan_end_ticket(t_ch[t], t, R_EOF)
			:: else -> skip
			fi
		fi
	}
}

/*
 * kchan_sel_start(): offer the two cases in either order, stopping at the
 * first commit.
 */
inline kchan_sel_start(w)
{
	if
	:: kchan_sel_offer(w, w_first[w]);
		if
		:: w_state[w] == W_WAITING -> kchan_sel_offer(w, w_first[w] + 1)
		:: else -> skip
		fi
	:: kchan_sel_offer(w, w_first[w] + 1);
		if
		:: w_state[w] == W_WAITING -> kchan_sel_offer(w, w_first[w])
		:: else -> skip
		fi
	fi
}

/* the sends of a select that did not complete through them failed */
inline sel_sendres(w)
{
	d_step {
		mt_i = 0;
		do
		:: mt_i < w_nr[w] ->
			if
			:: t_send[w_first[w] + mt_i] ->
				if
				:: w_state[w] == W_DONE &&
				   w_done[w] == w_first[w] + mt_i &&
				   w_result[w] == R_LEN ->
					sendres[t_msg[w_first[w] + mt_i]] = S_OK
				:: else ->
					sendres[t_msg[w_first[w] + mt_i]] = S_FAILED
				fi
			:: else -> skip
			fi;
			mt_i++
		:: else -> break
		od;
		mt_i = 0
	}
}

/*
 * kchan_select_ioctl(): a blocking select over two cases (tickets
 * w_first, w_first + 1); kchan_sel_result() copies a received message out,
 * and kchan_sel_again() runs it again if it went back with its sender.
 */
proctype kchan_select_ioctl(byte w; byte sig; byte fault)
{
	byte t, m, ui;
	bool again, copied, cancelled;

rerun:
	skip;
	d_step { waiter_init(w) };
	kchan_sel_start(w);
	kchan_wait(w, sig, cancelled);
	if
	:: !cancelled ->
		/* kchan_sel_result() */
		t = w_done[w];
		if
		:: !t_send[t] && w_result[w] == R_LEN ->
			m = w_msg[w];
			w_msg[w] = NONE;
			kchan_copy_out(t_ch[t], m, fault, again, copied);
			if
			:: again -> goto rerun	/* kchan_sel_again() */
			:: else -> kchan_settle(t_ch[t], m, copied)
			fi
		:: else -> skip
		fi
	:: else -> skip
	fi;
	sel_sendres(w);
	d_step { running-- }
}

/* ---- selfd.c ---- */

/* kchan_sel_done() + kchan_sel_result(): collect a committed select */
inline kchan_selfd_collect(w, fault)
{
	kchan_unqueue_all(w);
	t = w_done[w];
	if
	:: !t_send[t] && w_result[w] == R_LEN ->
		m = w_msg[w];
		w_msg[w] = NONE;
		kchan_copy_out(t_ch[t], m, fault, again, copied);
		/* a select file's receive case never claims a sender */
		assert(!again);
		kchan_settle(t_ch[t], m, copied)
	:: else -> skip
	fi
}

/*
 * An armed select file (kchan_selfd_arm()), then read (kchan_selfd_read_iter
 * waiting interruptible on the file's queue), cancelled
 * (kchan_selfd_cancel_locked(), killable while a receiver copies its send
 * out) or released (kchan_sel_drop()).
 */
proctype kchan_selfd(byte w; byte fault)
{
	byte t, m, ui;
	bool again, copied, cancelled;

	d_step { waiter_init(w) };
	kchan_sel_start(w);
	if
	:: /* kchan_selfd_read_iter() */
		do
		:: d_step {
			w_seen[w] = w_state[w];
			if
			:: w_seen[w] == W_DONE -> ts[w] = T_RUN
			:: else -> ts[w] = T_INTR
			fi
		   };
			if
			:: w_seen[w] == W_DONE -> break
			:: else -> ts[w] == T_RUN	/* schedule() */
			fi
		od;
		w_seen[w] = 0;
		kchan_selfd_collect(w, fault)
	:: /* kchan_selfd_cancel_locked() */
		do
		:: kchan_cancel(w, cancelled);
			if
			:: cancelled -> break
			:: else ->
				/* wait_event_killable(state != CLAIMED) */
				do
				:: d_step {
					w_seen[w] = w_state[w];
					if
					:: w_seen[w] != W_CLAIMED -> ts[w] = T_RUN
					:: else -> ts[w] = T_KILL
					fi
				   };
					if
					:: w_seen[w] != W_CLAIMED -> break
					:: else -> ts[w] == T_RUN
					fi
				od;
				w_seen[w] = 0;
				if
				:: w_state[w] == W_DONE ->
					kchan_selfd_collect(w, fault);
					break
				:: else -> skip
				fi
			fi
		od
	:: /* kchan_selfd_release() -> kchan_sel_drop() */
		do
		:: kchan_cancel(w, cancelled);
			if
			:: cancelled -> break
			:: else ->
				w_state[w] != W_CLAIMED;	/* cpu_relax() */
				if
				:: w_state[w] == W_DONE ->
					kchan_unqueue_all(w);
					t = w_done[w];
					if
					:: !t_send[t] && w_result[w] == R_LEN ->
						m = w_msg[w];
						w_msg[w] = NONE;
						kchan_settle(t_ch[t], m, false)
					:: else -> skip
					fi;
					break
				:: else -> skip
				fi
			fi
		od
	fi;
	sel_sendres(w);
	d_step { running-- }
}

/*
 * kchan_sel_start_persistent(): kchan_sel_start(), the case it did not
 * get to offer kept in order[] for the first collection.
 */
inline kchan_sel_start_persistent(w)
{
	if
	:: kchan_sel_offer(w, w_first[w]);
		if
		:: w_state[w] == W_WAITING -> kchan_sel_offer(w, w_first[w] + 1)
		:: else -> t_pending[w_first[w] + 1] = true
		fi
	:: kchan_sel_offer(w, w_first[w] + 1);
		if
		:: w_state[w] == W_WAITING -> kchan_sel_offer(w, w_first[w])
		:: else -> t_pending[w_first[w]] = true
		fi
	fi
}

/*
 * kchan_sel_rearm(): a receive case that reported its channel closed
 * leaves the set (t->chan = NULL); under the waiter's lock the result is
 * reset, the unqueued list drained into order[] (without the cases that
 * left) and the state back to WAITING; then, while still waiting, the
 * cases of order[] are offered, in any order.
 */
inline kchan_sel_rearm(w)
{
	t = w_done[w];
	if
	:: t != NONE && !t_send[t] && w_result[w] == R_EOF -> t_gone[t] = true
	:: else -> skip
	fi;
	d_step {
		w_result[w] = R_NONE;
		w_msg[w] = NONE;
		w_done[w] = NONE;
		w_closed[w] = NONE;
		w_commits[w] = 0;
#ifdef MUTANT_REARM_UNLOCKED
		/* before fe1d6e2: waiting again, then drained without the lock */
		w_state[w] = W_WAITING;
		mt_i = 0;
		do
		:: mt_i < NCH -> p_stale[mt_i] = true; mt_i++
		:: else -> break
		od;
		mt_i = 0
	};
	d_step {
#endif
		/* llist_del_all() */
		mt_i = w_first[w];
		do
		:: mt_i < w_first[w] + w_nr[w] ->
			if
			:: t_listed[mt_i] ->
				t_listed[mt_i] = false;
				t_pending[mt_i] = !t_gone[mt_i]
			:: else -> skip
			fi;
			mt_i++
		:: else -> break
		od;
#ifndef MUTANT_REARM_UNLOCKED
		w_state[w] = W_WAITING;
		mt_i = 0;
		do
		:: mt_i < NCH -> p_stale[mt_i] = true; mt_i++
		:: else -> break
		od;
#endif
		mt_i = 0
	};
	/* the offers, from order[], while waiting (two cases) */
	do
	:: w_state[w] != W_WAITING -> break
	:: else ->
		if
		:: !t_pending[w_first[w]] && !t_pending[w_first[w] + 1] -> break
		:: t_pending[w_first[w]] -> t = w_first[w]
		:: t_pending[w_first[w] + 1] -> t = w_first[w] + 1
		fi;
		d_step {
			/* a case that left the set is never offered: its
			 * chan is NULL */
			assert(!t_gone[t]);
			t_pending[t] = false;
			/* the owner's own offer begins after its rearm */
			p_stale[t_ch[t]] = false;
			kchan_enqueue(t_ch[t], t);
			kchan_match(t_ch[t]);
			if
			:: kchan_drained(t_ch[t]) -> kchan_end_ticket(t_ch[t], t, R_EOF)
			:: else -> skip
			fi
		}
	od;
	t = 0
}

/*
 * A persistent select file (KCHAN_SELECT_PERSIST, receives only) armed
 * over two cases and read up to reads times: each read waits for a
 * commit, collects it (kchan_sel_collect(): the other tickets stay
 * queued), copies a received message to its case's buffer (which may
 * fault), settles and rearms. Then the file is released
 * (kchan_sel_drop()).
 */
proctype kchan_selfd_persist(byte w; byte fault; byte reads)
{
	byte t, m, ui;
	bool again, copied, cancelled;

	d_step { waiter_init(w) };
	kchan_sel_start_persistent(w);
	do
	:: reads > 0 && !(t_gone[w_first[w]] && t_gone[w_first[w] + 1]) ->
		reads--;
		/* kchan_selfd_read_iter() */
		do
		:: d_step {
			w_seen[w] = w_state[w];
			if
			:: w_seen[w] == W_DONE -> ts[w] = T_RUN
			:: else -> ts[w] = T_INTR
			fi
		   };
			if
			:: w_seen[w] == W_DONE -> break
			:: else -> ts[w] == T_RUN	/* schedule() */
			fi
		od;
		w_seen[w] = 0;
		/* kchan_sel_report(), kchan_sel_settle() */
		t = w_done[w];
		if
		:: w_result[w] == R_LEN ->
			m = w_msg[w];
			w_msg[w] = NONE;
			kchan_copy_out(t_ch[t], m, fault, again, copied);
			/* a select file's receive case never claims a sender */
			assert(!again);
			if
			:: !copied -> w_result[w] = R_EFAULT
			:: else -> skip
			fi;
			kchan_settle(t_ch[t], m, copied)
		:: else -> skip
		fi;
		kchan_sel_rearm(w)
	:: else -> break
	od;
	/* kchan_selfd_release() -> kchan_sel_drop() */
	do
	:: kchan_cancel(w, cancelled);
		if
		:: cancelled -> break
		:: else ->
			w_state[w] == W_DONE;
			kchan_unqueue_all(w);
			t = w_done[w];
			if
			:: w_result[w] == R_LEN ->
				m = w_msg[w];
				w_msg[w] = NONE;
				kchan_settle(t_ch[t], m, false)
			:: else -> skip
			fi;
			break
		fi
	od;
	skip;
	d_step { running-- }
}

/* a close() at any point */
proctype kchan_ctl_close(byte c)
{
	kchan_close(c)
}

/*
 * No lost wake-up: when nothing can move (timeout), no task sleeps on a
 * condition that holds, and no channel holds a pair that could match.
 * Then every channel is closed, every call must return, and what each
 * send reported must agree with what was received.
 */
inline check_stuck()
{
	mt_w = 0;
	do
	:: mt_w < NW ->
		/* a sleeper whose state changed was woken */
		assert(ts[mt_w] == T_RUN || w_state[mt_w] == w_seen[mt_w]);
		mt_w++
	:: else -> break
	od;
	/*
	 * A waiting persistent select has every case of its set queued:
	 * none stranded on its list or in order[].
	 */
	mt_w = 0;
	do
	:: mt_w < NW ->
		if
		:: w_persist[mt_w] && w_state[mt_w] == W_WAITING ->
			mt_i = w_first[mt_w];
			do
			:: mt_i < w_first[mt_w] + w_nr[mt_w] ->
				assert(t_gone[mt_i] || t_queued[mt_i]);
				mt_i++
			:: else -> break
			od
		:: else -> skip
		fi;
		mt_w++
	:: else -> break
	od;
	mt_i = 0;
	/* what a peek sees now */
	mt_w = 0;
	do
	:: mt_w < NCH -> p_stale[mt_w] = false; mt_w++
	:: else -> break
	od;
	mt_w = 0;
	do
	:: mt_w < NCH ->
		kchan_first_live(mt_w, false, NONE);
		mt_r = fl_t;
		kchan_first_live(mt_w, true, NONE);
		mt_s = fl_t;
		/* a waiting receiver and a buffered message */
		assert(mt_r == NONE || count[mt_w] == 0);
		/* a waiting sender and room */
		assert(mt_s == NONE || count[mt_w] + taken[mt_w] >= cap[mt_w]);
		/* a waiting receiver and a waiting sender of another waiter */
		if
		:: mt_r != NONE && mt_s != NONE && kchan_handoff_room(mt_w) ->
			kchan_first_live(mt_w, true, t_w[mt_r]);
			assert(fl_t == NONE);
			kchan_other_receiver(mt_w);
			assert(mt_r == NONE)
		:: else -> skip
		fi;
		/* close: no waiting send on a closed channel, no waiting
		 * receive on a drained one */
		assert(!closed[mt_w] || mt_s == NONE);
		assert(!kchan_drained(mt_w) || mt_r == NONE);
		mt_w++
	:: else -> break
	od;
	mt_w = 0; mt_r = 0; mt_s = 0
}

inline check_final()
{
	mt_w = 0;
	do
	:: mt_w < NCH ->
		assert(inflight[mt_w] == 0 && taken[mt_w] == 0);
		assert(nsend[mt_w] == 0 && nrecv[mt_w] == 0);
		mt_w++
	:: else -> break
	od;
	mt_m = 0;
	do
	:: mt_m < NM ->
		/* in a buffer? */
		ok = false;
		mt_w = 0;
		do
		:: mt_w < NCH * BMAX ->
			if
			:: buf[mt_w] == mt_m && mt_w % BMAX < count[mt_w / BMAX] ->
				ok = true
			:: else -> skip
			fi;
			mt_w++
		:: else -> break
		od;
		/* exactly once: a send succeeded iff its message was received
		 * or is queued; a failed one was neither */
		if
		:: sendres[mt_m] == S_OK -> assert(recvd[mt_m] + ok == 1)
		:: sendres[mt_m] == S_FAILED -> assert(recvd[mt_m] == 0 && !ok)
		:: else -> skip
		fi;
		mt_m++
	:: else -> break
	od;
	mt_w = 0; mt_m = 0; ok = false
}

active proctype watchdog()
{
	byte c;

	timeout;
	d_step { check_stuck() };
	/* close everything: every call must now return */
	c = 0;
	do
	:: c < NCH -> kchan_close(c); c++
	:: else -> break
	od;
	running == 0;
	d_step { check_final() }
}

inline ticket(t, w, c, send, m)
{
	t_w[t] = w; t_ch[t] = c; t_send[t] = send; t_msg[t] = m
}

inline waiter(w, first, nr, wq)
{
	w_first[w] = first; w_nr[w] = nr; w_wq[w] = wq;
	w_done[w] = NONE; w_msg[w] = NONE; w_closed[w] = NONE
}

inline world1()
{
	d_step {
		/*
		 * Rendezvous A, B. A select sending on A and receiving on B,
		 * a reader of A whose copy may fault, a writer of B that may
		 * get a signal, a select receiving on A and sending on B
		 * (select against select), and a close of B at any point.
		 */
		cap[0] = 0; cap[1] = 0;
		ticket(0, 0, 0, true, 0); ticket(1, 0, 1, false, NONE);
		waiter(0, 0, 2, false);
		ticket(2, 1, 0, false, NONE); waiter(1, 2, 1, false);
		ticket(3, 2, 1, true, 1); waiter(2, 3, 1, false);
		ticket(4, 3, 0, false, NONE); ticket(5, 3, 1, true, 2);
		waiter(3, 4, 2, false);
		running = 4
	};
	atomic {
		run kchan_select_ioctl(0, 0, 0);
		run kchan_recv(1, 2, 0, 1);
		run kchan_send(2, 3, 1);
		run kchan_select_ioctl(3, 0, 0);
		run kchan_ctl_close(1)
	}
}

inline world2()
{
	d_step {
		/*
		 * Rendezvous A, B: a select sending on both, a reader of each
		 * (A's may fault), B closed at any point.
		 */
		cap[0] = 0; cap[1] = 0;
		ticket(0, 0, 0, true, 0); ticket(1, 0, 1, true, 1);
		waiter(0, 0, 2, false);
		ticket(2, 1, 0, false, NONE); waiter(1, 2, 1, false);
		ticket(3, 2, 1, false, NONE); waiter(2, 3, 1, false);
		running = 3
	};
	atomic {
		run kchan_select_ioctl(0, 0, 0);
		run kchan_recv(1, 2, 0, 1);
		run kchan_recv(2, 3, 0, 0);
		run kchan_ctl_close(1)
	}
}

inline world3()
{
	d_step {
		/*
		 * An armed select file sending on rendezvous A and receiving
		 * on B (capacity 1), read, cancelled or released; a reader of
		 * A whose copy may fault; a writer of B; a reader of B.
		 */
		cap[0] = 0; cap[1] = 1;
		ticket(0, 0, 0, true, 0); ticket(1, 0, 1, false, NONE);
		waiter(0, 0, 2, true);
		ticket(2, 1, 0, false, NONE); waiter(1, 2, 1, false);
		ticket(3, 2, 1, true, 1); waiter(2, 3, 1, false);
		ticket(4, 3, 1, false, NONE); waiter(3, 4, 1, false);
		running = 4
	};
	atomic {
		run kchan_selfd(0, 1);
		run kchan_recv(1, 2, 0, 1);
		run kchan_send(2, 3, 0);
		run kchan_recv(3, 4, 0, 0)
	}
}

inline world4()
{
	d_step {
		/*
		 * A of capacity 1, B rendezvous: two writers of A (one may get
		 * a signal), a select receiving on A and sending on B, a
		 * reader of B whose copy may fault, A closed at any point.
		 */
		cap[0] = 1; cap[1] = 0;
		ticket(0, 0, 0, true, 0); waiter(0, 0, 1, false);
		ticket(1, 1, 0, true, 1); waiter(1, 1, 1, false);
		ticket(2, 2, 0, false, NONE); ticket(3, 2, 1, true, 2);
		waiter(2, 2, 2, false);
		ticket(4, 3, 1, false, NONE); waiter(3, 4, 1, false);
		running = 4
	};
	atomic {
		run kchan_send(0, 0, 1);
		run kchan_send(1, 1, 0);
		run kchan_select_ioctl(2, 0, 1);
		run kchan_recv(3, 4, 0, 1);
		run kchan_ctl_close(0)
	}
}

inline world5()
{
	d_step {
		/*
		 * Deeper: three channels (A, C rendezvous, B capacity 1); a
		 * select sending on A and receiving on B, an armed select
		 * file receiving on A and sending on C, a reader of A whose
		 * copy may fault, a reader of C, a writer of B; B closed at
		 * any point.
		 */
		cap[0] = 0; cap[1] = 1; cap[2] = 0;
		ticket(0, 0, 0, true, 0); ticket(1, 0, 1, false, NONE);
		waiter(0, 0, 2, false);
		ticket(2, 1, 0, false, NONE); ticket(3, 1, 2, true, 1);
		waiter(1, 2, 2, true);
		ticket(4, 2, 0, false, NONE); waiter(2, 4, 1, false);
		ticket(5, 3, 2, false, NONE); waiter(3, 5, 1, false);
		ticket(6, 4, 1, true, 2); waiter(4, 6, 1, false);
		running = 5
	};
	atomic {
		run kchan_select_ioctl(0, 0, 0);
		run kchan_selfd(1, 0);
		run kchan_recv(2, 4, 0, 1);
		run kchan_recv(3, 5, 0, 0);
		run kchan_send(4, 6, 0);
		run kchan_ctl_close(1)
	}
}

inline world6()
{
	d_step {
		/*
		 * A persistent select file receiving on rendezvous A and on B
		 * (capacity 1), read three times, its copy may fault; a writer
		 * of each; B closed at any point.
		 */
		cap[0] = 0; cap[1] = 1;
		ticket(0, 0, 0, false, NONE); ticket(1, 0, 1, false, NONE);
		waiter(0, 0, 2, true); w_persist[0] = true;
		ticket(2, 1, 0, true, 0); waiter(1, 2, 1, false);
		ticket(3, 2, 1, true, 1); waiter(2, 3, 1, false);
		running = 3
	};
	atomic {
		run kchan_selfd_persist(0, 1, 3);
		run kchan_send(1, 2, 0);
		run kchan_send(2, 3, 0);
		run kchan_ctl_close(1)
	}
}

inline world7()
{
	d_step {
		/*
		 * Rendezvous A: a writer; a reader of the writer's address
		 * space, whose buffer the writer may fill (kchan_fill()) and
		 * whose copy may fault; a reader of another process; A closed
		 * at any point.
		 */
		cap[0] = 0;
		ticket(0, 0, 0, true, 0); waiter(0, 0, 1, false);
		ticket(1, 1, 0, false, NONE); waiter(1, 1, 1, false);
		t_to[1] = true;
		ticket(2, 2, 0, false, NONE); waiter(2, 2, 1, false);
		running = 3
	};
	atomic {
		run kchan_send(0, 0, 0);
		run kchan_recv(1, 1, 0, 1);
		run kchan_recv(2, 2, 0, 0);
		run kchan_ctl_close(0)
	}
}

inline world8()
{
	d_step {
		/*
		 * World 7 with a second writer, and a signal for the first
		 * (deep).
		 */
		cap[0] = 0;
		ticket(0, 0, 0, true, 0); waiter(0, 0, 1, false);
		ticket(1, 1, 0, true, 1); waiter(1, 1, 1, false);
		ticket(2, 2, 0, false, NONE); waiter(2, 2, 1, false);
		t_to[2] = true;
		ticket(3, 3, 0, false, NONE); waiter(3, 3, 1, false);
		running = 4
	};
	atomic {
		run kchan_send(0, 0, 1);
		run kchan_send(1, 1, 0);
		run kchan_recv(2, 2, 0, 1);
		run kchan_recv(3, 3, 0, 0);
		run kchan_ctl_close(0)
	}
}

init {
	d_step {
		fl_i = 0;
		do
		:: fl_i < NM -> m_sender[fl_i] = NONE; fl_i++
		:: else -> break
		od;
		fl_i = 0;
		do
		:: fl_i < NW -> w_done[fl_i] = NONE; w_msg[fl_i] = NONE;
			w_closed[fl_i] = NONE; fl_i++
		:: else -> break
		od;
		fl_i = 0
	};
#if WORLD == 0
	/* the small worlds, one after the other in one search */
	if
	:: world2()
	:: world3()
	:: world4()
	:: world6()
	:: world7()
	fi
#elif WORLD == 1
	world1()
#elif WORLD == 2
	world2()
#elif WORLD == 3
	world3()
#elif WORLD == 4
	world4()
#elif WORLD == 5
	world5()
#elif WORLD == 6
	world6()
#elif WORLD == 7
	world7()
#elif WORLD == 8
	world8()
#endif
}
