import XCTest

@testable import STNTrainer

/// --keep best: which epoch beats the ones before it.
final class KeptWeightsTests: XCTestCase {
    func record(_ epoch: Int, _ accuracy: Double, _ loss: Double) -> EpochRecord {
        EpochRecord(
            epoch: epoch, trainLoss: 1, trainAccuracy: 0.5, testLoss: loss, testAccuracy: accuracy, seconds: 1,
            learningRate: 0.1)
    }

    func testTheBestEpochIsTheHighestAccuracyThenTheLowestLoss() {
        let history = [record(1, 0.90, 0.3), record(2, 0.95, 0.2), record(3, 0.93, 0.1), record(4, 0.95, 0.15)]
        XCTAssertTrue(KeptWeights.lastIsBest(Array(history.prefix(1))))
        XCTAssertTrue(KeptWeights.lastIsBest(Array(history.prefix(2))))
        XCTAssertFalse(KeptWeights.lastIsBest(Array(history.prefix(3))))
        // Same accuracy as epoch 2 at a lower loss: better.
        XCTAssertTrue(KeptWeights.lastIsBest(history))
        XCTAssertEqual(KeptWeights.best.keptEpoch(Array(history.prefix(3))), 2)
        XCTAssertEqual(KeptWeights.best.keptEpoch(history), 4)
        XCTAssertEqual(KeptWeights.last.keptEpoch(Array(history.prefix(3))), 3)
        XCTAssertNil(KeptWeights.best.keptEpoch([]))
        XCTAssertFalse(KeptWeights.lastIsBest([]))
        let attributes = KeptWeights.best.attributes(epoch: history[1])
        XCTAssertEqual(attributes["kept_epoch"]?.intValue, 2)
        XCTAssertEqual(attributes["kept"]?.stringValue, "best")
    }
}
