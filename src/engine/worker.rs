//! One engine thread: a current-thread tokio runtime whose tasks share one recorder without locks.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::task::Poll;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::Notify;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use super::arrivals::Slots;
use super::client::{Conn, H2Pool};
use super::occupancy::{BUCKETS, Occupancy};
use super::plan::Plan;
use super::trace::Trace;
use crate::metrics::BODY_SNIPPET;
use crate::metrics::{ErrorKind, Exemplar, LATE_AFTER, Stats};
use crate::scenario::Load;

/// What a worker hands the aggregator once a second, and once more at the end.
pub(crate) struct WorkerMsg {
    pub index: u32,
    pub end: f64,
    pub is_final: bool,
    pub stats: Vec<Stats>,
    /// Requests in flight: the most in each 10 ms of the tick, so the aggregator can add the
    /// workers' levels moment by moment instead of adding their peaks.
    pub in_flight: [u32; BUCKETS],
    /// Final message, open model: this worker's requests due before the window's end that never
    /// started (the in-flight cap held them back until Stop or the end of the drain).
    pub not_started: u64,
    /// Final message: seconds from the window's end until this worker's drain ended.
    pub drained: f64,
}

struct Worker {
    id: usize,
    workers: usize,
    plan: Arc<Plan>,
    start: Instant,
    /// The end of the schedule.
    end: Instant,
    stop: CancellationToken,
    stats: RefCell<Vec<Stats>>,
    rng: RefCell<SmallRng>,
    occupancy: RefCell<Occupancy>,
    /// Shared HTTP/2 connections, one pool per target.
    pools: Vec<H2Pool>,
    seq: Cell<u64>,
    /// The measured window is over: no request starts any more, those in flight may finish.
    over: Cell<bool>,
    /// The next tick to send, and when it ends.
    next_tick: Cell<u32>,
    tick_end: Cell<Instant>,
    tx: Sender<WorkerMsg>,
    live: Cell<usize>,
    done: Notify,
}

impl Worker {
    /// Milliseconds since the run's start.
    fn ms(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_millis() as u64
    }

    /// Milliseconds since the run's start, with the fraction.
    fn at_ms(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.start).as_secs_f64() * 1000.0
    }

    /// Sends every whole second that ended by `now` (before the schedule's end; the last, partial
    /// second goes with the final message). Called by the ticker when a second ends, and before
    /// recording a request that ended after it, so a response is counted in the second it
    /// arrived in even when the ticker's timer fires late.
    fn roll(&self, now: Instant) {
        while now >= self.tick_end.get() && self.tick_end.get() < self.end {
            let i = self.next_tick.get();
            let stats = {
                let mut stats = self.stats.borrow_mut();
                let snap = stats.clone();
                stats.iter_mut().for_each(Stats::reset);
                snap
            };
            let in_flight = self.occupancy.borrow_mut().take();
            self.next_tick.set(i + 1);
            self.tick_end
                .set(self.start + Duration::from_secs(u64::from(i) + 1));
            let _ = self.tx.send(WorkerMsg {
                index: i,
                end: f64::from(i),
                is_final: false,
                stats,
                in_flight,
                not_started: 0,
                drained: 0.0,
            });
        }
    }
}

/// After a Stop, in-flight requests get this long, so a run stops within a second.
const STOP_GRACE: Duration = Duration::from_millis(300);

/// Runs this worker's share of the load to the end, sending ticks on `tx`.
pub(crate) fn run(
    id: usize,
    workers: usize,
    plan: Arc<Plan>,
    start: Instant,
    stop: CancellationToken,
    tx: Sender<WorkerMsg>,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        let _ = tx.send(final_msg(1, 0.0, Vec::new(), [0; BUCKETS], (0, 0.0)));
        return;
    };
    let local = tokio::task::LocalSet::new();
    let end = start + plan.scenario.duration();
    let w = Rc::new(Worker {
        id,
        workers,
        // The journeys' whole iterations follow the series (the tick maker takes them apart).
        stats: RefCell::new(vec![
            Stats::default();
            plan.keys.len() + plan.journeys.len()
        ]),
        rng: RefCell::new(SmallRng::seed_from_u64(rand::random::<u64>() ^ id as u64)),
        occupancy: RefCell::new(Occupancy::default()),
        pools: plan.endpoints.iter().map(|_| H2Pool::default()).collect(),
        plan,
        start,
        end,
        stop,
        seq: Cell::new(0),
        over: Cell::new(false),
        next_tick: Cell::new(1),
        tick_end: Cell::new(start + Duration::from_secs(1)),
        tx: tx.clone(),
        live: Cell::new(0),
        done: Notify::new(),
    });
    let (window_end, open) = local.block_on(&runtime, async {
        let ticker = tokio::task::spawn_local(ticker(w.clone()));
        let open = match &w.plan.scenario.load {
            Load::Open {
                max_in_flight,
                rate,
                arrivals,
            } => {
                let seed = rand::random::<u64>();
                let slots = Slots::new(rate, *arrivals, id, workers, seed);
                let open = Rc::new(Open {
                    head: Cell::new(0),
                    tail: Cell::new(0),
                    take: RefCell::new(slots.clone()),
                    done: Cell::new(false),
                    idle: Cell::new(0),
                    conns: Cell::new(0),
                    // At least one: a shard's thread with a cap of 0 could never send its slots.
                    cap: share(*max_in_flight, id, workers).max(1),
                    wake: Notify::new(),
                    went_idle: Notify::new(),
                });
                spawn_task(&w, dispatcher(w.clone(), open.clone(), slots));
                Some(open)
            }
            Load::Closed { vus, .. } => {
                let max = vus.max_level().ceil() as usize;
                for vu in (id..max).step_by(workers) {
                    spawn_task(&w, vu_task(w.clone(), vu));
                }
                None
            }
        };
        let window_end = run_out(&w).await;
        ticker.abort();
        (window_end, open)
    });
    // Dropping the tasks drops the requests still in flight: each records itself as aborted.
    drop(local);
    let drained = window_end.elapsed().as_secs_f64();
    let window_end_s = window_end.saturating_duration_since(w.start).as_secs_f64();
    let not_started = match (&open, &w.plan.scenario.load) {
        (Some(o), Load::Open { rate, .. }) => {
            o.take
                .borrow_mut()
                .due_before(o.head.get(), window_end_s, rate)
        }
        _ => 0,
    };
    let stats = w.stats.replace(Vec::new());
    let in_flight = w.occupancy.borrow_mut().take();
    let _ = tx.send(final_msg(
        w.next_tick.get(),
        window_end_s,
        stats,
        in_flight,
        (not_started, drained),
    ));
}

/// Worker `id`'s share of `total` (connections), so the shares add up to exactly `total`.
fn share(total: usize, id: usize, workers: usize) -> usize {
    let workers = workers.max(1);
    total / workers + usize::from(id < total % workers)
}

fn final_msg(
    index: u32,
    end: f64,
    stats: Vec<Stats>,
    in_flight: [u32; BUCKETS],
    (not_started, drained): (u64, f64),
) -> WorkerMsg {
    WorkerMsg {
        index,
        end,
        is_final: true,
        stats,
        in_flight,
        not_started,
        drained,
    }
}

fn spawn_task(w: &Rc<Worker>, f: impl std::future::Future<Output = ()> + 'static) {
    w.live.set(w.live.get() + 1);
    let w2 = w.clone();
    tokio::task::spawn_local(async move {
        f.await;
        w2.live.set(w2.live.get() - 1);
        w2.done.notify_one();
    });
}

/// Lets the load run to the end of the schedule (or Stop), then lets the requests in flight
/// finish for up to the scenario's `drain` (or [`STOP_GRACE`] after a Stop). Returns when the
/// measured window ended: the schedule's end, or the moment of Stop.
async fn run_out(w: &Rc<Worker>) -> Instant {
    let end = tokio::time::Instant::from_std(w.end);
    let window_end = tokio::select! {
        _ = sleep_until(end) => w.end,
        _ = w.stop.cancelled() => Instant::now().min(w.end),
    };
    w.over.set(true);
    let mut stopped = w.stop.is_cancelled();
    let mut deadline = if stopped {
        Instant::now() + STOP_GRACE
    } else {
        w.end + w.plan.scenario.drain
    };
    while w.live.get() > 0 {
        tokio::select! {
            _ = w.done.notified() => {}
            _ = sleep_until(tokio::time::Instant::from_std(deadline)) => break,
            _ = w.stop.cancelled(), if !stopped => {
                stopped = true;
                deadline = deadline.min(Instant::now() + STOP_GRACE);
            }
        }
    }
    window_end
}

/// Sends this worker's share of each whole second as it ends.
async fn ticker(w: Rc<Worker>) {
    while w.tick_end.get() < w.end {
        sleep_until(tokio::time::Instant::from_std(w.tick_end.get())).await;
        w.roll(Instant::now());
    }
}

/// The open model's hand-off between one worker's dispatcher and its connection tasks.
/// Due requests wait as a range of slot numbers (`head..tail`), so a backlog costs no memory.
struct Open {
    /// The next due slot no connection has taken yet.
    head: Cell<u64>,
    /// One past the last slot the dispatcher has released.
    tail: Cell<u64>,
    /// Intended start times of taken slots (a cursor moving with `head`).
    take: RefCell<Slots>,
    /// The dispatcher has released its last slot.
    done: Cell<bool>,
    /// Connection tasks waiting for work and not yet woken.
    idle: Cell<usize>,
    /// Connection tasks alive.
    conns: Cell<usize>,
    /// This worker's share of `max_in_flight`.
    cap: usize,
    /// Wakes an idle connection for a released slot.
    wake: Notify,
    /// Tells the dispatcher a connection went idle (it waits for that when all are busy).
    went_idle: Notify,
}

/// The dispatcher spins through gaps shorter than this instead of sleeping: from 4,000 requests a
/// second per engine thread the thread stays awake (it is busy anyway), since a sleep/wake pair
/// per request costs more CPU and adds its wake-up time (tens of µs) to every measured latency.
/// Slower schedules sleep between requests.
const DISPATCH_SPIN: Duration = Duration::from_micros(250);

/// Most slots the dispatcher releases in a row before letting the connection tasks run.
const RELEASE_BATCH: u32 = 64;

/// The open model's clock: releases each slot at its intended time with one reusable precise timer,
/// wakes an idle connection for it or opens a new one (up to `max_in_flight`); past the cap, due
/// slots queue and the queueing shows in corrected latency.
async fn dispatcher(w: Rc<Worker>, o: Rc<Open>, mut slots: Slots) {
    let mut timer = crate::timer::Timer::spinning(DISPATCH_SPIN);
    // Registered once, not per wait: registering takes the token's lock.
    let stopped = w.stop.cancelled();
    tokio::pin!(stopped);
    let mut k = 0u64;
    let mut in_a_row = 0u32;
    loop {
        if w.stop.is_cancelled() {
            break;
        }
        // Slots the connections took by themselves (a busy connection takes due slots as it frees).
        k = k.max(o.head.get());
        if o.idle.get() == 0 && o.conns.get() >= o.cap {
            // Every connection is busy and none may be added: each takes the due slots itself as
            // it finishes, so there is nothing to time until one goes idle.
            tokio::select! {
                biased;
                _ = &mut stopped => break,
                _ = o.went_idle.notified() => {}
                // The busy connections stop taking slots when the window is over.
                _ = sleep_until(tokio::time::Instant::from_std(w.end)) => break,
            }
            continue;
        }
        let Some(at) = slots.time_of(k) else {
            break;
        };
        let intended = w.start + Duration::from_secs_f64(at);
        if intended >= w.end {
            break;
        }
        if intended > Instant::now() {
            in_a_row = 0;
            tokio::select! {
                biased;
                _ = &mut stopped => break,
                _ = timer.sleep_until(intended) => {}
            }
        } else {
            in_a_row += 1;
            if in_a_row >= RELEASE_BATCH {
                in_a_row = 0;
                tokio::task::yield_now().await;
            }
        }
        if o.head.get() > k {
            // Taken meanwhile by a connection that came free.
            continue;
        }
        k += 1;
        o.tail.set(o.tail.get().max(k));
        if o.idle.get() > 0 {
            o.idle.set(o.idle.get() - 1);
            o.wake.notify_one();
        } else if o.conns.get() < o.cap {
            o.conns.set(o.conns.get() + 1);
            spawn_task(&w, conn_task(w.clone(), o.clone()));
        }
    }
    o.done.set(true);
    o.wake.notify_waiters();
}

/// One connection of the open model: takes due slots while there are any, else waits to be woken.
/// Once the window is over it takes only a slot that came due while it was free (its wake-up ran
/// late on a busy machine): slots queued behind the in-flight cap then count as not started.
async fn conn_task(w: Rc<Worker>, o: Rc<Open>) {
    let mut task = TaskState::new(&w);
    // Since when this connection has had nothing to do; a new one stands for capacity that was
    // free all along (the dispatcher opens one only below the cap).
    let mut free_since = Some(w.start);
    loop {
        if w.stop.is_cancelled() {
            return;
        }
        let over = w.over.get();
        if over && free_since.is_none() {
            return;
        }
        let head = o.head.get();
        let released = head < o.tail.get();
        let slot = o.take.borrow_mut().time_of(head).and_then(|at| {
            let intended = w.start + Duration::from_secs_f64(at);
            if over {
                // Due inside the window while this connection stood free: late, not dropped.
                let was_free = free_since.is_some_and(|since| since <= intended);
                return (released && intended < w.end && was_free).then_some(intended);
            }
            // A slot not yet released is taken if it is already due: the dispatcher leaves the
            // timing to the connections while they are all busy.
            (released || (intended < w.end && intended <= Instant::now())).then_some(intended)
        });
        if let Some(intended) = slot {
            o.head.set(head + 1);
            o.tail.set(o.tail.get().max(head + 1));
            free_since = None;
            one_pick(&w, &mut task, Some(intended)).await;
            continue;
        }
        if o.done.get() {
            return;
        }
        // No wait on Stop here: on Stop the dispatcher ends, and its end wakes every idle task.
        free_since.get_or_insert_with(Instant::now);
        o.idle.set(o.idle.get() + 1);
        o.went_idle.notify_one();
        o.wake.notified().await;
    }
}

/// One virtual user of the closed model: request, wait for the answer, think, repeat.
async fn vu_task(w: Rc<Worker>, vu: usize) {
    let Load::Closed { vus, think } = &w.plan.scenario.load else {
        return;
    };
    let mut task = TaskState::new(&w);
    let end = tokio::time::Instant::from_std(w.end);
    loop {
        let now = Instant::now();
        if w.stop.is_cancelled() || now >= w.end {
            return;
        }
        let level = vus.level_at(now.duration_since(w.start).as_secs_f64());
        if (vu as f64) >= level.round() {
            // Not active at this point of the ramp: drop idle connections, check again shortly.
            task.slots.iter_mut().for_each(|s| *s = None);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = w.stop.cancelled() => return,
            }
            continue;
        }
        one_pick(&w, &mut task, None).await;
        if let Some((lo, hi)) = think {
            let pause = if lo == hi {
                *lo
            } else {
                let f: f64 = w.rng.borrow_mut().random();
                *lo + (*hi - *lo).mul_f64(f)
            };
            if !pause.is_zero() {
                // A pause that runs past the end of the schedule ends with it.
                let until = (tokio::time::Instant::now() + pause).min(end);
                tokio::select! {
                    _ = sleep_until(until) => {}
                    _ = w.stop.cancelled() => return,
                }
            }
        }
    }
}

/// What one load task owns: its connections (one per target), a body buffer, and a timeout timer
/// created once and re-armed lazily (see [`with_timeout`]).
struct TaskState {
    slots: Vec<Option<Conn>>,
    body: Vec<u8>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    trace: Trace,
}

impl TaskState {
    fn new(w: &Worker) -> TaskState {
        TaskState {
            slots: (0..w.plan.endpoints.len()).map(|_| None).collect(),
            body: Vec::new(),
            deadline: Box::pin(tokio::time::sleep(w.plan.scenario.timeout)),
            trace: Trace::default(),
        }
    }
}

/// Runs `fut` until `until`, or returns `None`. The timer may still be armed for an earlier
/// request's deadline: when that passes it is re-armed for this one, so the timer wheel is touched
/// about once per timeout period instead of once per request.
async fn with_timeout<T>(
    fut: impl std::future::Future<Output = T>,
    mut timer: Pin<&mut tokio::time::Sleep>,
    until: Instant,
) -> Option<T> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(r));
        }
        while timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= until {
                return Poll::Ready(None);
            }
            timer.as_mut().reset(tokio::time::Instant::from_std(until));
        }
        Poll::Pending
    })
    .await
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A request on its way: counted in flight, and if its task is dropped before it ends (the drain
/// ran out, or Stop), it records itself as `aborted` at its latency so far, so the slowest
/// requests of a run never vanish from it.
struct InFlight<'a> {
    w: &'a Worker,
    key: usize,
    origin: Instant,
    sent_at: Instant,
    armed: bool,
}

impl<'a> InFlight<'a> {
    fn start(w: &'a Worker, key: usize, origin: Instant, sent_at: Instant) -> InFlight<'a> {
        w.occupancy.borrow_mut().change(w.ms(sent_at), true);
        InFlight {
            w,
            key,
            origin,
            sent_at,
            armed: true,
        }
    }

    /// The request ended at `at`; the caller records how.
    fn end(mut self, at: Instant) {
        self.armed = false;
        self.w.occupancy.borrow_mut().change(self.w.ms(at), false);
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let now = Instant::now();
        self.w.occupancy.borrow_mut().change(self.w.ms(now), false);
        if let Some(s) = self.w.stats.borrow_mut().get_mut(self.key) {
            let latency_us = micros(now.saturating_duration_since(self.origin));
            s.record_failure(
                ErrorKind::Aborted,
                latency_us,
                Some(micros(now.saturating_duration_since(self.sent_at))),
            );
            let at_ms = self.w.at_ms(self.origin);
            let queued_us = micros(self.sent_at.saturating_duration_since(self.origin));
            s.exemplars.offer(latency_us, true, |e| {
                *e = Exemplar {
                    at_ms,
                    queued_us,
                    latency_us,
                    error: Some(ErrorKind::Aborted),
                    ..Exemplar::default()
                };
            });
        }
    }
}

/// Sends what the mix picks: one request, or a journey's steps in order (an iteration); `intended`
/// is the open model's scheduled start of it. A journey's iteration is recorded whole (from its
/// intended start to its last step's end) when it ends, done or failed; one the run's end cut
/// short is not.
async fn one_pick(w: &Worker, task: &mut TaskState, intended: Option<Instant>) {
    let picked = w.plan.pick(&mut w.rng.borrow_mut());
    let j = match picked {
        super::plan::Pick::Request(i) => {
            one_request(w, task, intended, i, None).await;
            return;
        }
        super::plan::Pick::Journey(j) => j,
    };
    let mut it = super::plan::Iteration::default();
    let origin = intended.unwrap_or_else(Instant::now);
    let mut intended = intended;
    let mut service_us = 0u64;
    let end = tokio::time::Instant::from_std(w.end);
    let steps = &w.plan.journeys[j];
    for (k, &p) in steps.iter().enumerate() {
        // After the measured window no step starts: the iteration ends where it is.
        if k > 0 && (w.over.get() || w.stop.is_cancelled() || Instant::now() >= w.end) {
            return;
        }
        // Each later step starts when the one before it ended: its own latency from then.
        let step = one_request(w, task, intended.take(), p, Some(&mut it)).await;
        service_us += step.service_us;
        if step.error.is_some() || k + 1 == steps.len() {
            let latency_us = micros(step.done.saturating_duration_since(origin));
            let mut stats = w.stats.borrow_mut();
            let s = &mut stats[w.plan.keys.len() + j];
            match step.status {
                Some(status) => s.record_response(status, latency_us, service_us, step.error),
                None => s.record_failure(
                    step.error.unwrap_or(ErrorKind::Aborted),
                    latency_us,
                    Some(service_us),
                ),
            }
            if step.error.is_some() {
                return;
            }
        }
        let think = w.plan.prepared[p].step.as_ref().and_then(|s| s.think);
        if let Some(pause) = think.filter(|t| !t.is_zero()) {
            let until = (tokio::time::Instant::now() + pause).min(end);
            tokio::select! {
                _ = sleep_until(until) => {}
                _ = w.stop.cancelled() => return,
            }
        }
    }
}

/// How one request ended, for the journey it may be a step of.
struct Ended {
    /// The response's status, if one came.
    status: Option<u16>,
    /// Why it failed, if it did.
    error: Option<ErrorKind>,
    /// Its service time (from the actual send).
    service_us: u64,
    /// When it ended.
    done: Instant,
}

/// Sends one request from the mix and records it; `intended` is the open model's scheduled start.
/// Its timeout counts from the intended start: a request that waited out its whole timeout in the
/// generator's queue is a timeout without being sent.
async fn one_request(
    w: &Worker,
    task: &mut TaskState,
    intended: Option<Instant>,
    picked: usize,
    journey: Option<&mut super::plan::Iteration>,
) -> Ended {
    let TaskState {
        slots,
        body,
        deadline,
        trace,
    } = task;
    let plan = &w.plan;
    let prepared = &plan.prepared[picked];
    // A request split by a response header counts in its split's "other" series until an
    // answer says which (a timeout or an abort never does).
    let key = prepared
        .split
        .as_ref()
        .and_then(|(_, series)| series.last().copied())
        .unwrap_or(picked);
    let seq = w.seq.get() * w.workers as u64 + w.id as u64;
    w.seq.set(w.seq.get() + 1);
    let sent_at = Instant::now();
    let origin = intended.unwrap_or(sent_at);
    let until = origin + plan.scenario.timeout;
    let late = intended.is_some_and(|i| sent_at.saturating_duration_since(i) > LATE_AFTER);
    if sent_at >= until {
        if sent_at >= w.tick_end.get() {
            w.roll(sent_at);
        }
        let mut stats = w.stats.borrow_mut();
        let s = &mut stats[key];
        s.late += u64::from(late);
        let latency_us = micros(sent_at.saturating_duration_since(origin));
        s.record_failure(ErrorKind::Timeout, latency_us, None);
        let at_ms = w.at_ms(origin);
        s.exemplars.offer(latency_us, true, |e| {
            *e = Exemplar {
                at_ms,
                queued_us: latency_us,
                latency_us,
                error: Some(ErrorKind::Timeout),
                ..Exemplar::default()
            };
        });
        return Ended {
            status: None,
            error: Some(ErrorKind::Timeout),
            service_us: 0,
            done: sent_at,
        };
    }
    let endpoint = &plan.endpoints[prepared.target];
    let ledger = plan.webhooks.as_deref();
    let ids = ledger.map(|l| l as &dyn crate::scenario::template::WebhookIds);
    let rendered = prepared.render(
        seq,
        &mut w.rng.borrow_mut(),
        endpoint,
        ids,
        journey.as_deref(),
    );
    let in_flight = InFlight::start(w, key, origin, sent_at);
    body.clear();
    trace.reset();
    trace.stream.begin(prepared.stream);
    trace.keep_header = prepared.split.as_ref().map(|(s, _)| s.header.clone());
    // A journey step reads its answer's headers (cookies, extract rules): keep them all.
    trace.keep_all = prepared.step.is_some();
    // Checks read up to their cap; otherwise the first bytes are kept for the exemplars.
    let body_cap = if prepared.needs_body {
        crate::metrics::MAX_CHECKED_BODY
    } else {
        BODY_SNIPPET
    };
    let mut retries = 0u32;
    let result = match &rendered {
        Ok(r) => {
            let fut = endpoint.exchange(
                &mut slots[prepared.target],
                &w.pools[prepared.target],
                |h2| prepared.build(r, h2),
                prepared.fixed_wire_h1(r),
                |out| prepared.serialize_h1(r, out),
                prepared.is_head(),
                Some(&mut *body),
                body_cap,
                sent_at,
                plan.scenario.retry_idempotent && prepared.is_idempotent(),
                &mut retries,
                trace,
            );
            let outcome = with_timeout(fut, deadline.as_mut(), until).await;
            outcome.unwrap_or_else(|| {
                slots[prepared.target] = None;
                Err(ErrorKind::Timeout)
            })
        }
        Err(()) => Err(ErrorKind::Render),
    };
    let done = Instant::now();
    if done >= w.tick_end.get() {
        w.roll(done);
    }
    in_flight.end(done);
    let latency_us = micros(done.saturating_duration_since(origin));
    let service_us = micros(done.saturating_duration_since(sent_at));
    let key = match &prepared.split {
        Some((split, series)) => {
            let value = trace.header(&split.header);
            series.get(split.which(value)).copied().unwrap_or(key)
        }
        None => key,
    };
    let mut stats = w.stats.borrow_mut();
    let s = &mut stats[key];
    s.late += u64::from(late);
    s.retries += u64::from(retries);
    if let Ok(r) = &rendered {
        s.bytes_out += r.body_len() as u64;
    }
    let phases = trace.record_phases(&mut s.phases, sent_at, done);
    let (status, bytes, error) = match result {
        Ok((status, bytes)) => {
            s.bytes_in += bytes;
            // A successful answer that is not the stream asked for fails as such.
            let not_streamed = ((200..300).contains(&status) && !trace.stream.answered())
                .then_some(ErrorKind::Stream);
            let error = prepared
                .judge(status, body, latency_us)
                .or(not_streamed)
                .or_else(|| {
                    // A step whose rules find nothing ends its iteration, counted as `extract`.
                    let (Some(it), Some(step)) = (journey, &prepared.step) else {
                        return None;
                    };
                    (!it.take(step, &trace.head, body)).then_some(ErrorKind::Extract)
                });
            s.record_response(status, latency_us, service_us, error);
            // Accepted: its callback is now expected.
            if error.is_none()
                && let (Some(l), Ok(r)) = (ledger, &rendered)
                && r.has_webhook()
            {
                l.accept(seq);
            }
            (Some(status), bytes, error)
        }
        Err(kind) => {
            s.record_failure(kind, latency_us, Some(service_us));
            (None, 0, Some(kind))
        }
    };
    if s.exemplars.wants_slow(latency_us) || (error.is_some() && s.exemplars.wants_failure()) {
        let at_ms = w.at_ms(origin);
        let queued_us = micros(sent_at.saturating_duration_since(origin));
        s.exemplars.offer(latency_us, error.is_some(), |e| {
            e.at_ms = at_ms;
            e.queued_us = queued_us;
            e.latency_us = latency_us;
            e.status = status;
            e.error = error;
            e.bytes_in = bytes;
            e.new_conn = trace.connect_us.is_some();
            e.phases = phases;
            e.head.clear();
            e.head.extend_from_slice(&trace.head);
            e.body.clear();
            if error.is_some() {
                e.body
                    .extend_from_slice(&body[..body.len().min(BODY_SNIPPET)]);
            }
        });
    }
    Ended {
        status,
        error,
        service_us,
        done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lazily_armed_timeout_fires_at_each_requests_own_deadline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let timeout = Duration::from_millis(40);
            let mut timer = Box::pin(tokio::time::sleep(timeout));
            // Many quick "requests" carry on past the timer's first deadline without re-arming it.
            let start = Instant::now();
            while start.elapsed() < timeout * 2 {
                let until = Instant::now() + timeout;
                let r = with_timeout(
                    tokio::time::sleep(Duration::from_millis(5)),
                    timer.as_mut(),
                    until,
                )
                .await;
                assert!(r.is_some(), "a 5 ms request timed out");
            }
            // The timer is now stale (its deadline passed): a slow request still gets its full
            // timeout, and no more.
            let sent = Instant::now();
            let r = with_timeout(
                tokio::time::sleep(Duration::from_secs(5)),
                timer.as_mut(),
                sent + timeout,
            )
            .await;
            let took = sent.elapsed();
            assert!(r.is_none(), "a 5 s request must time out");
            assert!(took >= timeout, "timed out early, after {took:?}");
            assert!(took < timeout * 3, "timed out late, after {took:?}");
            // A request that ends before its deadline, after the timer was re-armed for the last one.
            let r = with_timeout(async { 7 }, timer.as_mut(), Instant::now() + timeout).await;
            assert_eq!(r, Some(7));
        });
    }
}
