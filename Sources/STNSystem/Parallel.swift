import Dispatch

/// The most worker threads any tool or checkpoint may ask for: far more than any machine
/// this runs on has cores, and few enough that per-thread buffers stay small (an unbounded
/// `--threads 10000` took 13 GB).
public let maximumThreads = 256

/// Runs `body(part)` for every part in `0 ..< parts` concurrently and returns when all are done.
///
/// The project's one deliberate data sharing across threads: callers hand every part raw
/// pointers into memory that the parts read together and write in disjoint regions (a thread's
/// own workspace, its slice of a batch). Swift cannot prove that disjointness, so the closure
/// crosses into Dispatch wrapped as `@unchecked Sendable`; each call site states which regions
/// its parts write.
public func concurrentParts(_ parts: Int, _ body: (Int) -> Void) {
    if parts <= 1 {
        if parts == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: parts) { part in shared.value(part) }
    }
}

/// A value that a caller has checked is safe to share between threads (see `concurrentParts`).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
