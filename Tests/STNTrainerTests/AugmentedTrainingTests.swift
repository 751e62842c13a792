import STNData
import XCTest

@testable import STNTrainer

/// --augment in the training loop, and the test-set answers behind the per-class table.
extension TrainingRunTests {
    /// The jitter is recorded in the checkpoint, and a run stopped mid-epoch and resumed
    /// reaches the uninterrupted run's weights bit for bit (each image's jitter is keyed by
    /// seed, epoch and image index, not by the order of the run); it does change the run.
    func testResumeWithAugmentationReachesTheSameWeights() throws {
        var c = configuration()
        c.augmentation = try Augmentation(parsing: "rotate=15,scale=0.9-1.1,shift=0.05,projective=0.05,elastic=8")
        try checkResumeFromMidEpoch(c, optimizerDatasets: ["optimizer/velocity"])
        let jittered = try trainer(c)
        let plain = try trainer(configuration())
        try runToEnd(jittered, stopAfter: 2)
        try runToEnd(plain, stopAfter: 2)
        XCTAssertNotEqual(jittered.state.parameters, plain.state.parameters)
        XCTAssertEqual(
            c.attributes["augment"]?.stringValue, "rotate=15,scale=0.9-1.1,shift=0.05,projective=0.05,elastic=8,sigma=4"
        )
    }
}
