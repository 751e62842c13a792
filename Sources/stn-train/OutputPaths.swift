import Foundation
import STNSystem

/// The files a training run writes next to `--out`: for `w.h5`, `w.csv`, `w.png`,
/// `w.checkpoint.h5` and `w.confusion.png`.
struct OutputPaths {
    let weights: String
    var stem: String { weights.hasSuffix(".h5") ? String(weights.dropLast(3)) : weights }
    var log: String { stem + ".csv" }
    var plot: String { stem + ".png" }
    var checkpoint: String { stem + ".checkpoint.h5" }
    /// The test set's confusion matrix for the weights kept, drawn at the end.
    var confusion: String { stem + ".confusion.png" }
    /// Every file the run writes.
    var all: [String] { [weights, log, plot, confusion, checkpoint] }

    static func weightsPath(forCheckpoint path: String) -> String {
        path.hasSuffix(".checkpoint.h5") ? String(path.dropLast(".checkpoint.h5".count)) + ".h5" : path + ".weights.h5"
    }

    /// Fails now, rather than after an hour of training, if the output cannot be written.
    func checkWritable() throws {
        let directory = directoryName(weights)
        let (kind, code) = fileStatus(directory)
        guard kind == .directory else {
            let problem =
                kind != .missing
                ? " is not a directory" : meansAbsent(code) ? " does not exist" : ": \(errorText(code))"
            throw OutputError("\(weights): directory '\(directory)'\(problem)")
        }
        let probe = directory + "/.stn-train-probe-\(getpid())"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            throw OutputError("\(weights): directory '\(directory)' is not writable (\(errorText(code)))")
        }
        close(descriptor)
        unlink(probe)
    }

    /// Claims every file the run writes (`OutputLock`, `FILE.lock` beside each), so no other
    /// run writes any of them meanwhile: not one with the same --out, nor one whose --out is
    /// this run's checkpoint, log or plot (or whose checkpoint is this run's weights).
    func lock() throws -> [OutputLock] {
        try all.map { try OutputLock(for: $0) }
    }
}

struct OutputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Ctrl-C asks the loop to stop after the current batch; a second Ctrl-C kills the process.
enum Interrupt {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    static var requested: Bool { flag != 0 }

    static func install() {
        signal(SIGINT) { _ in
            if Interrupt.flag != 0 { _exit(130) }
            Interrupt.flag = 1
        }
    }
}
