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

use super::client::Conn;
use super::plan::Plan;
use crate::metrics::{ErrorKind, LATE_AFTER, Stats};
use crate::scenario::{Load, Schedule};

/// What a worker hands the aggregator once a second, and once more at the end.
pub(crate) struct WorkerMsg {
    pub index: u32,
    pub end: f64,
    pub is_final: bool,
    pub stats: Vec<Stats>,
    pub in_flight_peak: u64,
    pub started: u64,
}

struct Worker {
    id: usize,
    workers: usize,
    plan: Arc<Plan>,
    start: Instant,
    end: Instant,
    stop: CancellationToken,
    stats: RefCell<Vec<Stats>>,
    rng: RefCell<SmallRng>,
    in_flight: Cell<u64>,
    peak: Cell<u64>,
    seq: Cell<u64>,
    started: Cell<u64>,
    live: Cell<usize>,
    done: Notify,
}

/// After the schedule ends, in-flight requests get this long to finish (or the timeout, if shorter).
const END_GRACE: Duration = Duration::from_secs(2);
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
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(_) => {
            let _ = tx.send(final_msg(1, 0.0, Vec::new(), 0, 0));
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    let end = start + plan.scenario.duration();
    let w = Rc::new(Worker {
        id,
        workers,
        stats: RefCell::new(vec![Stats::default(); plan.keys.len()]),
        rng: RefCell::new(SmallRng::seed_from_u64(rand::random::<u64>() ^ id as u64)),
        plan,
        start,
        end,
        stop,
        in_flight: Cell::new(0),
        peak: Cell::new(0),
        seq: Cell::new(0),
        started: Cell::new(0),
        live: Cell::new(0),
        done: Notify::new(),
    });
    let next_tick = Rc::new(Cell::new(1u32));
    local.block_on(&runtime, async {
        let ticker = tokio::task::spawn_local(ticker(w.clone(), next_tick.clone(), tx.clone()));
        match &w.plan.scenario.load {
            Load::Open {
                max_in_flight,
                rate,
            } => {
                let open = Rc::new(Open {
                    head: Cell::new(0),
                    tail: Cell::new(0),
                    take: RefCell::new(Schedule::new(rate)),
                    done: Cell::new(false),
                    idle: Cell::new(0),
                    conns: Cell::new(0),
                    cap: max_in_flight.div_ceil(workers).max(1),
                    wake: Notify::new(),
                    went_idle: Notify::new(),
                });
                spawn_task(&w, dispatcher(w.clone(), open, Schedule::new(rate)));
            }
            Load::Closed { vus, .. } => {
                let max = vus.max_level().ceil() as usize;
                for vu in (id..max).step_by(workers) {
                    spawn_task(&w, vu_task(w.clone(), vu));
                }
            }
        }
        wait_for_tasks(&w).await;
        ticker.abort();
    });
    let stats = w.stats.replace(Vec::new());
    let elapsed = w.start.elapsed().as_secs_f64();
    let _ = tx.send(final_msg(
        next_tick.get(),
        elapsed,
        stats,
        w.peak.get(),
        w.started.get(),
    ));
}

fn final_msg(index: u32, end: f64, stats: Vec<Stats>, peak: u64, started: u64) -> WorkerMsg {
    WorkerMsg {
        index,
        end,
        is_final: true,
        stats,
        in_flight_peak: peak,
        started,
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

/// Waits until every load task is done, the schedule's end plus grace passes, or Stop plus grace.
async fn wait_for_tasks(w: &Rc<Worker>) {
    let end_grace = END_GRACE.min(w.plan.scenario.timeout);
    let deadline = tokio::time::Instant::from_std(w.end + end_grace);
    loop {
        if w.live.get() == 0 {
            return;
        }
        tokio::select! {
            _ = w.done.notified() => {}
            _ = sleep_until(deadline) => return,
            _ = w.stop.cancelled() => {
                let grace = tokio::time::Instant::now() + STOP_GRACE;
                while w.live.get() > 0 {
                    tokio::select! {
                        _ = w.done.notified() => {}
                        _ = sleep_until(grace) => return,
                    }
                }
                return;
            }
        }
    }
}

/// Sends this worker's share of each whole second; the last (partial) second is sent by `run`.
async fn ticker(w: Rc<Worker>, next: Rc<Cell<u32>>, tx: Sender<WorkerMsg>) {
    loop {
        let i = next.get();
        let at = w.start + Duration::from_secs(u64::from(i));
        if at >= w.end {
            return;
        }
        sleep_until(tokio::time::Instant::from_std(at)).await;
        let snapshot = {
            let mut stats = w.stats.borrow_mut();
            let snap = stats.clone();
            stats.iter_mut().for_each(Stats::reset);
            snap
        };
        let peak = w.peak.replace(w.in_flight.get());
        next.set(i + 1);
        let msg = WorkerMsg {
            index: i,
            end: f64::from(i),
            is_final: false,
            stats: snapshot,
            in_flight_peak: peak,
            started: 0,
        };
        if tx.send(msg).is_err() {
            return;
        }
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
    take: RefCell<Schedule>,
    /// The dispatcher has released its last slot.
    done: Cell<bool>,
    /// Connection tasks waiting for work and not yet woken.
    idle: Cell<usize>,
    /// Connection tasks alive.
    conns: Cell<usize>,
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
async fn dispatcher(w: Rc<Worker>, o: Rc<Open>, mut schedule: Schedule) {
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
            }
            continue;
        }
        let n = k * w.workers as u64 + w.id as u64;
        let Some(at) = schedule.time_of(n) else {
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
async fn conn_task(w: Rc<Worker>, o: Rc<Open>) {
    let mut task = TaskState::new(&w);
    loop {
        if w.stop.is_cancelled() {
            return;
        }
        let head = o.head.get();
        let n = head * w.workers as u64 + w.id as u64;
        let released = head < o.tail.get();
        let slot = o.take.borrow_mut().time_of(n).and_then(|at| {
            let intended = w.start + Duration::from_secs_f64(at);
            // A slot not yet released is taken if it is already due: the dispatcher leaves the
            // timing to the connections while they are all busy.
            (released || (intended < w.end && intended <= Instant::now())).then_some(intended)
        });
        if let Some(intended) = slot {
            o.head.set(head + 1);
            o.tail.set(o.tail.get().max(head + 1));
            w.started.set(w.started.get() + 1);
            one_request(&w, &mut task, Some(intended)).await;
            continue;
        }
        if o.done.get() {
            return;
        }
        // No wait on Stop here: on Stop the dispatcher ends, and its end wakes every idle task.
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
        one_request(&w, &mut task, None).await;
        if let Some((lo, hi)) = think {
            let pause = if lo == hi {
                *lo
            } else {
                let f: f64 = w.rng.borrow_mut().random();
                *lo + (*hi - *lo).mul_f64(f)
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
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
}

impl TaskState {
    fn new(w: &Worker) -> TaskState {
        TaskState {
            slots: (0..w.plan.endpoints.len()).map(|_| None).collect(),
            body: Vec::new(),
            deadline: Box::pin(tokio::time::sleep(w.plan.scenario.timeout)),
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

/// Sends one request from the mix and records it; `intended` is the open model's scheduled start.
async fn one_request(w: &Worker, task: &mut TaskState, intended: Option<Instant>) {
    let TaskState {
        slots,
        body,
        deadline,
    } = task;
    let plan = &w.plan;
    let key = plan.pick(&mut w.rng.borrow_mut());
    let prepared = &plan.prepared[key];
    let seq = w.seq.get() * w.workers as u64 + w.id as u64;
    w.seq.set(w.seq.get() + 1);
    let endpoint = &plan.endpoints[prepared.target];
    let rendered = prepared.render(seq, &mut w.rng.borrow_mut(), endpoint);
    let in_flight = w.in_flight.get() + 1;
    w.in_flight.set(in_flight);
    if in_flight > w.peak.get() {
        w.peak.set(in_flight);
    }
    body.clear();
    let sent_at = Instant::now();
    let keep = prepared.needs_body.then_some(&mut *body);
    let result = match &rendered {
        Ok(r) => {
            let fut = endpoint.exchange(
                &mut slots[prepared.target],
                |h2| prepared.build(r, h2),
                prepared.fixed_wire_h1(r),
                |out| prepared.serialize_h1(r, out),
                prepared.is_head(),
                keep,
            );
            let outcome =
                with_timeout(fut, deadline.as_mut(), sent_at + plan.scenario.timeout).await;
            outcome.unwrap_or_else(|| {
                slots[prepared.target] = None;
                Err(ErrorKind::Timeout)
            })
        }
        Err(()) => Err(ErrorKind::Other),
    };
    let done = Instant::now();
    w.in_flight.set(w.in_flight.get() - 1);
    let origin = intended.unwrap_or(sent_at);
    let latency_us = done.saturating_duration_since(origin).as_micros() as u64;
    let service_us = done.saturating_duration_since(sent_at).as_micros() as u64;
    let mut stats = w.stats.borrow_mut();
    let s = &mut stats[key];
    if intended.is_some_and(|i| sent_at.saturating_duration_since(i) > LATE_AFTER) {
        s.late += 1;
    }
    if let Ok(r) = &rendered {
        s.bytes_out += r.body_len() as u64;
    }
    match result {
        Ok((status, bytes)) => {
            s.bytes_in += bytes;
            let error = prepared.judge(status, body, latency_us);
            s.record_response(status, latency_us, service_us, error);
        }
        Err(kind) => s.record_failure(kind),
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
