//! The walk over a DAG of operations, apart from what an operation does (as OpenTofu's
//! `internal/dag/walk.go` keeps it): a node starts once everything it waits for has succeeded,
//! the ready node with the highest priority first, at most `parallelism` at once; a failure
//! skips everything that waits on it, directly or not, and lets the rest go on; a stop starts
//! nothing new and drains what is in flight. What a node does, and what to make of its result,
//! is the [`Visitor`]'s business.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use ringform_core::provider::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// One node of the DAG: the nodes that must succeed before it starts, and its priority among
/// ready nodes (higher first; equal priorities go in node order).
#[derive(Clone, Debug)]
pub(crate) struct Node<P> {
    pub waits_for: Vec<usize>,
    pub priority: P,
}

/// What the walk calls back into. Every call comes from the walk's own task, one at a time, so
/// a visitor may keep plain mutable state (outputs so far, the run's outcome).
pub(crate) trait Visitor {
    type Output: Send + 'static;
    type Error: Send + 'static;

    /// `node`'s prerequisites have all succeeded: the work to run on a task of its own.
    fn start(&mut self, node: usize) -> BoxFuture<'static, Result<Self::Output, Self::Error>>;
    /// `node`'s work has ended, after `elapsed`. On an error, its dependents are skipped next.
    fn finished(&mut self, node: usize, result: Result<Self::Output, Self::Error>, elapsed: Duration);
    /// `node` will never start, because `because` failed.
    fn skipped(&mut self, node: usize, because: usize);
    /// A stop was seen: nothing new starts; `in_flight` nodes are still running.
    fn stopping(&mut self, in_flight: usize);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Waiting,
    Running { started: Instant },
    Succeeded { started: Instant, ended: Instant },
    Failed,
    Skipped,
}

/// How a walk ended, beyond what the visitor was told.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Walked {
    /// Nodes never started because the walk was stopped, in node order.
    pub not_started: Vec<usize>,
    /// The chain that ended last, first to last with each node's run time: from the last node
    /// to succeed, back through whichever of its prerequisites ended last.
    pub critical_path: Vec<(usize, Duration)>,
}

/// Walks `nodes` (which must form a DAG: a cycle's nodes would never start) until every node
/// has succeeded, failed or been skipped, or, once `stop` says so, until the nodes in flight
/// have ended.
pub(crate) async fn walk<P: Ord + Copy, V: Visitor>(
    nodes: &[Node<P>],
    parallelism: usize,
    mut stop: watch::Receiver<bool>,
    visitor: &mut V,
) -> Walked {
    let parallelism = parallelism.max(1);
    let mut dependents = vec![Vec::new(); nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        for &before in &node.waits_for {
            dependents[before].push(i);
        }
    }
    let mut waiting: Vec<usize> = nodes.iter().map(|n| n.waits_for.len()).collect();
    let mut state = vec![State::Waiting; nodes.len()];
    let mut ready: BinaryHeap<(P, Reverse<usize>)> =
        (0..nodes.len()).filter(|&i| waiting[i] == 0).map(|i| (nodes[i].priority, Reverse(i))).collect();
    let mut tasks = JoinSet::new();
    let mut stopping = *stop.borrow();
    // A closed channel can never say stop (its sender is gone): stop watching it, not working.
    let mut watching = true;

    loop {
        // A stop that came in while the last completion was being handled counts before
        // anything new starts.
        if !stopping && *stop.borrow() {
            stopping = true;
            visitor.stopping(tasks.len());
        }
        while !stopping && tasks.len() < parallelism {
            let Some((_, Reverse(i))) = ready.pop() else { break };
            state[i] = State::Running { started: Instant::now() };
            let work = visitor.start(i);
            tasks.spawn(async move { (i, work.await) });
        }
        if tasks.is_empty() {
            break;
        }
        tokio::select! {
            joined = tasks.join_next() => {
                let Some(joined) = joined else { continue };
                let (i, result) = match joined {
                    Ok(done) => done,
                    // A task only panics on a bug; surface it rather than hang.
                    Err(error) => std::panic::resume_unwind(error.into_panic()),
                };
                let State::Running { started } = state[i] else { unreachable!("only running nodes have tasks") };
                let ended = Instant::now();
                let succeeded = result.is_ok();
                visitor.finished(i, result, ended - started);
                if succeeded {
                    state[i] = State::Succeeded { started, ended };
                    for &d in &dependents[i] {
                        waiting[d] -= 1;
                        if waiting[d] == 0 && state[d] == State::Waiting {
                            ready.push((nodes[d].priority, Reverse(d)));
                        }
                    }
                } else {
                    state[i] = State::Failed;
                    skip_dependents(i, &dependents, &mut state, visitor);
                }
            }
            changed = stop.changed(), if watching && !stopping => {
                // Seen at the top of the loop if it says stop.
                watching = changed.is_ok();
            }
        }
    }
    Walked {
        not_started: (0..nodes.len()).filter(|&i| state[i] == State::Waiting).collect(),
        critical_path: critical_path(nodes, &state),
    }
}

/// Marks everything waiting on `failed`, transitively, skipped.
fn skip_dependents<V: Visitor>(failed: usize, dependents: &[Vec<usize>], state: &mut [State], visitor: &mut V) {
    let mut stack = dependents[failed].clone();
    while let Some(d) = stack.pop() {
        if state[d] == State::Waiting {
            state[d] = State::Skipped;
            visitor.skipped(d, failed);
            stack.extend(dependents[d].iter().copied());
        }
    }
}

fn critical_path<P>(nodes: &[Node<P>], state: &[State]) -> Vec<(usize, Duration)> {
    let ended = |i: usize| match state[i] {
        State::Succeeded { ended, .. } => Some((ended, i)),
        _ => None,
    };
    let mut path = Vec::new();
    let mut current = (0..nodes.len()).filter_map(ended).max().map(|(_, i)| i);
    while let Some(i) = current {
        if let State::Succeeded { started, ended } = state[i] {
            path.push((i, ended - started));
        }
        current = nodes[i].waits_for.iter().filter_map(|&j| ended(j)).max().map(|(_, j)| j);
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Each node sleeps its duration and then fails if it is in `failing`; every callback is
    /// written down, and the number of nodes running at once measured.
    #[derive(Default)]
    struct Script {
        durations: Vec<Duration>,
        failing: Vec<usize>,
        /// Says stop the moment this node has finished.
        stop_after: Option<(usize, watch::Sender<bool>)>,
        log: Vec<String>,
        running: Arc<Mutex<(usize, usize)>>,
    }

    impl Script {
        fn new(durations: &[u64]) -> Script {
            Script { durations: durations.iter().map(|&s| Duration::from_secs(s)).collect(), ..Script::default() }
        }

        fn most_at_once(&self) -> usize {
            self.running.lock().unwrap().1
        }
    }

    impl Visitor for Script {
        type Output = usize;
        type Error = String;

        fn start(&mut self, node: usize) -> BoxFuture<'static, Result<usize, String>> {
            self.log.push(format!("start {node}"));
            let (duration, fails, running) =
                (self.durations[node], self.failing.contains(&node), Arc::clone(&self.running));
            Box::pin(async move {
                {
                    let mut running = running.lock().unwrap();
                    running.0 += 1;
                    running.1 = running.1.max(running.0);
                }
                tokio::time::sleep(duration).await;
                running.lock().unwrap().0 -= 1;
                if fails { Err(format!("{node} broke")) } else { Ok(node * 10) }
            })
        }

        fn finished(&mut self, node: usize, result: Result<usize, String>, elapsed: Duration) {
            match result {
                Ok(output) => self.log.push(format!("done {node} -> {output} in {}s", elapsed.as_secs())),
                Err(error) => self.log.push(format!("failed {node}: {error}")),
            }
            if let Some((_, stop)) = self.stop_after.take_if(|(after, _)| *after == node) {
                stop.send_replace(true);
            }
        }

        fn skipped(&mut self, node: usize, because: usize) {
            self.log.push(format!("skip {node} because {because}"));
        }

        fn stopping(&mut self, in_flight: usize) {
            self.log.push(format!("stopping with {in_flight} in flight"));
        }
    }

    fn node(waits_for: &[usize], priority: u32) -> Node<u32> {
        Node { waits_for: waits_for.to_vec(), priority }
    }

    fn never_stop() -> watch::Receiver<bool> {
        watch::channel(false).1
    }

    #[tokio::test(start_paused = true)]
    async fn one_slot_goes_to_the_highest_priority_ready_node_and_ties_go_in_node_order() {
        // 0 → 1; 2, 3 and 4 free. Priorities: 3 > 0 > 1; 2 and 4 tie, lowest.
        let nodes = [node(&[], 5), node(&[0], 4), node(&[], 1), node(&[], 9), node(&[], 1)];
        let mut script = Script::new(&[1, 1, 1, 1, 1]);
        let walked = walk(&nodes, 1, never_stop(), &mut script).await;
        let starts: Vec<&str> = script.log.iter().filter(|l| l.starts_with("start")).map(String::as_str).collect();
        assert_eq!(starts, ["start 3", "start 0", "start 1", "start 2", "start 4"]);
        assert_eq!(script.most_at_once(), 1);
        assert!(walked.not_started.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_starts_only_after_all_it_waits_for_succeeded() {
        // 2 waits for 0 (1 s) and 1 (3 s).
        let nodes = [node(&[], 0), node(&[], 0), node(&[0, 1], 0)];
        let mut script = Script::new(&[1, 3, 1]);
        let started = Instant::now();
        walk(&nodes, 8, never_stop(), &mut script).await;
        assert_eq!(
            script.log,
            ["start 0", "start 1", "done 0 -> 0 in 1s", "done 1 -> 10 in 3s", "start 2", "done 2 -> 20 in 1s"]
        );
        assert_eq!(started.elapsed(), Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn parallelism_is_reached_and_never_exceeded() {
        let nodes: Vec<Node<u32>> = (0..10).map(|_| node(&[], 0)).collect();
        for parallelism in [1, 3, 10, 50] {
            let mut script = Script::new(&[2; 10]);
            let started = Instant::now();
            walk(&nodes, parallelism, never_stop(), &mut script).await;
            assert_eq!(script.most_at_once(), parallelism.min(10));
            let rounds = 10u64.div_ceil(parallelism.min(10) as u64);
            assert_eq!(started.elapsed(), Duration::from_secs(2 * rounds), "parallelism {parallelism}");
        }
        let mut script = Script::new(&[2; 10]);
        walk(&nodes, 0, never_stop(), &mut script).await;
        assert_eq!(script.most_at_once(), 1, "a zero bound still makes progress");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_skips_what_waits_on_it_transitively_and_nothing_else() {
        // 0 → 1 → 2, and 3 waits for 1 and 4; 4 and 5 are independent of 0.
        let nodes = [node(&[], 0), node(&[0], 0), node(&[1], 0), node(&[1, 4], 0), node(&[], 0), node(&[4], 0)];
        let mut script = Script::new(&[1, 1, 1, 1, 5, 1]);
        script.failing = vec![0];
        let walked = walk(&nodes, 8, never_stop(), &mut script).await;
        let mut skipped: Vec<&str> = script.log.iter().filter(|l| l.starts_with("skip")).map(String::as_str).collect();
        skipped.sort_unstable();
        assert_eq!(skipped, ["skip 1 because 0", "skip 2 because 0", "skip 3 because 0"]);
        assert!(script.log.contains(&"failed 0: 0 broke".to_owned()));
        assert!(script.log.contains(&"done 5 -> 50 in 1s".to_owned()), "independent work goes on: {:?}", script.log);
        for never in ["start 1", "start 2", "start 3"] {
            assert!(!script.log.contains(&never.to_owned()), "{never}: {:?}", script.log);
        }
        assert!(walked.not_started.is_empty(), "skipped is not the same as not started");
        assert_eq!(walked.critical_path, [(4, Duration::from_secs(5)), (5, Duration::from_secs(1))]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_drains_what_is_in_flight_and_starts_nothing_new() {
        // Three slots: 0 (1 s), 1 (10 s) and 2 (10 s) start; 3, 4 and 5 wait for slots, 6 for 0.
        let nodes: Vec<Node<u32>> = [&[][..], &[], &[], &[], &[], &[], &[0]].iter().map(|w| node(w, 0)).collect();
        let (stop, stopped) = watch::channel(false);
        let mut script = Script::new(&[1, 10, 10, 1, 1, 1, 1]);
        script.stop_after = Some((0, stop));
        let started = Instant::now();
        let walked = walk(&nodes, 3, stopped, &mut script).await;
        assert_eq!(
            script.log,
            [
                "start 0",
                "start 1",
                "start 2",
                "done 0 -> 0 in 1s",
                "stopping with 2 in flight",
                "done 1 -> 10 in 10s",
                "done 2 -> 20 in 10s"
            ]
        );
        assert_eq!(started.elapsed(), Duration::from_secs(10), "the walk waited for what was in flight");
        assert_eq!(walked.not_started, [3, 4, 5, 6]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_before_the_walk_starts_nothing_and_a_dropped_sender_stops_nothing() {
        let nodes = [node(&[], 0), node(&[0], 0)];
        let (stop, stopped) = watch::channel(true);
        let mut script = Script::new(&[1, 1]);
        let walked = walk(&nodes, 2, stopped, &mut script).await;
        assert!(script.log.is_empty(), "a stop already there is no news: {:?}", script.log);
        assert_eq!(walked.not_started, [0, 1]);

        drop(stop);
        let (stop, stopped) = watch::channel(false);
        drop(stop);
        let mut script = Script::new(&[1, 1]);
        let walked = walk(&nodes, 2, stopped, &mut script).await;
        assert_eq!(script.log.len(), 4, "{:?}", script.log);
        assert!(walked.not_started.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_critical_path_follows_whichever_prerequisite_ended_last() {
        // 2 waits for 0 (1 s) and 1 (4 s); 3 (independent, 2 s) ends before 2 does.
        let nodes = [node(&[], 0), node(&[], 0), node(&[0, 1], 0), node(&[], 0)];
        let mut script = Script::new(&[1, 4, 3, 2]);
        let walked = walk(&nodes, 8, never_stop(), &mut script).await;
        assert_eq!(walked.critical_path, [(1, Duration::from_secs(4)), (2, Duration::from_secs(3))]);
    }
}
