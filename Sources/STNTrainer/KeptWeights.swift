import STNModel

/// Which epoch's weights a run leaves in its weight file (`stn-train --keep`).
public enum KeptWeights: String, Sendable, CaseIterable {
    /// The last epoch's (the file is written once training ends).
    case last
    /// The epoch that did best on the test set so far: written, atomically, at the end of
    /// every epoch that beats all earlier ones.
    case best

    /// Whether the last epoch of `history` beats every earlier one: a higher test accuracy,
    /// or the same accuracy at a lower test loss. The first epoch always does. Taken from
    /// the history alone, so a resumed run goes on comparing against the epochs before it.
    public static func lastIsBest(_ history: [EpochRecord]) -> Bool {
        guard let last = history.last else { return false }
        return history.dropLast().allSatisfy { earlier in
            last.testAccuracy > earlier.testAccuracy
                || (last.testAccuracy == earlier.testAccuracy && last.testLoss < earlier.testLoss)
        }
    }

    /// The epoch whose weights the file holds once `history` is done (nil: none yet).
    public func keptEpoch(_ history: [EpochRecord]) -> Int? {
        switch self {
        case .last: return history.last?.epoch
        case .best:
            var kept: Int?
            for n in 1 ..< history.count + 1 where KeptWeights.lastIsBest(Array(history.prefix(n))) {
                kept = history[n - 1].epoch
            }
            return kept
        }
    }

    /// The weight-file attributes that say which epoch was kept and why: `kept` (best or
    /// last) and `kept_epoch`, with that epoch's test accuracy and loss.
    public func attributes(epoch record: EpochRecord) -> [String: HDF5Attribute] {
        [
            "kept": .string(rawValue), "kept_epoch": .int(record.epoch), "test_accuracy": .double(record.testAccuracy),
            "test_loss": .double(record.testLoss),
        ]
    }
}
