//! The queue between a bulk run's reading thread and its lanes: bounded by messages and by
//! bytes, and woken in batches, so that the reading thread sleeps while the queue is full and
//! is woken once the lanes have taken half of it, not once per message. The lanes hand the
//! bytes of the messages they are done with back, and the reading thread frees them: memory
//! is freed by the thread that allocated it, so the allocator's per-thread arenas are not
//! locked by one thread while another allocates from them.

use crate::mailbox::{MailItem, MailboxError};
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// One message of the source, as the reading thread got it.
pub(super) type Item = Result<MailItem, MailboxError>;

/// The most bytes of messages held in the queue (a larger message still goes in alone).
pub(super) const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Messages read ahead, shared by the reading thread (the filler) and the lanes (the takers).
pub(super) struct ReadAhead {
    state: Mutex<State>,
    /// Signalled when a message arrives or the source ends, for a waiting taker.
    filled: Condvar,
    /// Signalled when the queue has drained to half, or the takers are gone, for the filler.
    drained: Condvar,
    max_messages: usize,
}

#[derive(Default)]
struct State {
    items: VecDeque<Item>,
    bytes: usize,
    /// The source is exhausted (or its iterator panicked): nothing more will come.
    finished: bool,
    /// The takers are gone: the filler stops.
    closed: bool,
    taker_waiting: bool,
    filler_waiting: bool,
    /// Message bytes the lanes are done with, freed by the reading thread.
    spent: Vec<Vec<u8>>,
}

fn size(item: &Item) -> usize {
    item.as_ref().map_or(0, |m| m.bytes.len())
}

impl ReadAhead {
    /// A queue of at most `max_messages` messages (at least 2) and [`MAX_BYTES`].
    pub(super) fn new(max_messages: usize) -> ReadAhead {
        ReadAhead {
            state: Mutex::new(State::default()),
            filled: Condvar::new(),
            drained: Condvar::new(),
            max_messages: max_messages.max(2),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts the next message, first waiting while the queue is full (an empty queue takes
    /// any message). False when the takers are gone: stop reading.
    pub(super) fn put(&self, item: Item) -> bool {
        let len = size(&item);
        // Free what the lanes handed back, outside the lock.
        drop(std::mem::take(&mut self.lock().spent));
        let mut state = self.lock();
        while !state.closed
            && !state.items.is_empty()
            && (state.items.len() >= self.max_messages || state.bytes + len > MAX_BYTES)
        {
            state.filler_waiting = true;
            state = self
                .drained
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.filler_waiting = false;
        if state.closed {
            return false;
        }
        state.items.push_back(item);
        state.bytes += len;
        if state.taker_waiting {
            self.filled.notify_one();
        }
        true
    }

    /// No more messages will come (called when the reading thread ends, panic included).
    pub(super) fn finish(&self) {
        self.lock().finished = true;
        self.filled.notify_all();
    }

    /// The next message, waiting for it; `None` once the source is finished and the queue
    /// empty.
    pub(super) fn take(&self) -> Option<Item> {
        let mut state = self.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                state.bytes -= size(&item);
                // Wake the filler in batches: once half of the queue is free.
                if state.filler_waiting
                    && state.items.len() <= self.max_messages / 2
                    && state.bytes <= MAX_BYTES / 2
                {
                    self.drained.notify_one();
                }
                return Some(item);
            }
            if state.finished {
                return None;
            }
            state.taker_waiting = true;
            state = self
                .filled
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.taker_waiting = false;
        }
    }

    /// Hands back the bytes of a message a lane is done with, for the reading thread to free
    /// (freed here once the source is finished).
    pub(super) fn recycle(&self, bytes: Vec<u8>) {
        let mut state = self.lock();
        if state.finished || state.closed {
            drop(state);
            drop(bytes);
        } else {
            state.spent.push(bytes);
        }
    }

    /// The takers are gone: a filler waiting for room stops.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.drained.notify_all();
    }
}

/// Calls [`ReadAhead::finish`] when dropped: the reading thread's guard, so that a source
/// that panics still ends the run instead of leaving the lanes waiting.
pub(super) struct FinishOnDrop<'q>(pub(super) &'q ReadAhead);

impl Drop for FinishOnDrop<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::{Origin, Position};
    use std::sync::Arc;

    fn message(i: usize, len: usize) -> Item {
        let mut bytes = vec![b'x'; len];
        if let Some(first) = bytes.first_mut() {
            *first = u8::try_from(i % 256).unwrap_or(0);
        }
        Ok(MailItem {
            source: Position::file(Origin::Stdin),
            bytes,
        })
    }

    #[test]
    fn every_message_arrives_once_in_order_within_the_bounds() {
        let queue = Arc::new(ReadAhead::new(4));
        let filler = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                let _finish = FinishOnDrop(&queue);
                for i in 0..1000 {
                    // Some messages larger than the byte bound: they go in alone.
                    let len = if i % 97 == 0 { MAX_BYTES + 1 } else { 100 };
                    assert!(queue.put(message(i, len)));
                    let state = queue.lock();
                    assert!(state.items.len() <= 4);
                    // The bytes handed back are freed at each put; between two, at most
                    // what the queue held and the taker took meanwhile waits here.
                    assert!(state.spent.len() <= 8, "{}", state.spent.len());
                    assert!(state.items.len() == 1 || state.bytes <= MAX_BYTES);
                }
            })
        };
        let mut got = 0;
        while let Some(item) = queue.take() {
            let bytes = item.unwrap().bytes;
            assert_eq!(usize::from(bytes[0]), got % 256);
            queue.recycle(bytes);
            got += 1;
        }
        filler.join().unwrap();
        assert_eq!(got, 1000);
    }

    #[test]
    fn a_panicking_source_ends_the_queue_and_closed_takers_stop_the_filler() {
        let queue = Arc::new(ReadAhead::new(2));
        let filler = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                let _finish = FinishOnDrop(&queue);
                assert!(queue.put(message(0, 10)));
                panic!("the source breaks");
            })
        };
        assert!(queue.take().is_some());
        assert!(queue.take().is_none());
        assert!(filler.join().is_err());

        let queue = Arc::new(ReadAhead::new(2));
        let filler = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || (0..100).take_while(|&i| queue.put(message(i, 10))).count())
        };
        assert!(queue.take().is_some());
        queue.close();
        assert!(filler.join().unwrap() < 100);
    }
}
