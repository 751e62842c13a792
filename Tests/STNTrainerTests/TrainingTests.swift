import Foundation
import STNData
import STNModel
import XCTest

@testable import STNTrainer

/// The training loop around the network: optimiser, schedule, shuffling, checkpoints, resume.
final class TrainingTests: XCTestCase {
    func testSGDMatchesTorchOptimSemantics() {
        // Two steps by hand: d = g + wd p; v = d, then v = mu v + d; p -= lr v.
        var sgd = SGD(momentum: 0.9, weightDecay: 0.1)
        var p: [Float] = [1, -2]
        sgd.step(parameters: &p, gradients: [0.5, 0.25], segments: [(0 ..< 2, 0.1)])
        // d = (0.5 + 0.1, 0.25 - 0.2) = (0.6, 0.05); p = (1 - 0.06, -2 - 0.005)
        XCTAssertEqual(p[0], 0.94, accuracy: 1e-6)
        XCTAssertEqual(p[1], -2.005, accuracy: 1e-6)
        sgd.step(parameters: &p, gradients: [0.5, 0.25], segments: [(0 ..< 2, 0.1)])
        // d = (0.5 + 0.094, 0.25 - 0.2005) = (0.594, 0.0495); v = (0.9*0.6 + 0.594, 0.9*0.05 + 0.0495)
        XCTAssertEqual(p[0], 0.94 - 0.1 * (0.54 + 0.594), accuracy: 1e-6)
        XCTAssertEqual(p[1], -2.005 - 0.1 * (0.045 + 0.0495), accuracy: 1e-6)
    }

    func testSGDSegmentsScaleTheirRate() {
        var sgd = SGD(momentum: 0, weightDecay: 0)
        var p: [Float] = [0, 0, 0]
        sgd.step(parameters: &p, gradients: [1, 1, 1], segments: [(0 ..< 1, 0.01), (1 ..< 3, 0.1)])
        XCTAssertEqual(p, [-0.01, -0.1, -0.1])
        XCTAssertTrue(sgd.velocity.isEmpty, "plain SGD keeps no velocity")
    }

    func testClippingScalesTheGradientToTheMaximumNormBeforeWeightDecay() {
        // Gradient (3, 4) has norm 5; clipped to norm 1 it is (0.6, 0.8). Weight decay is
        // added after clipping, as clip_grad_norm_ then SGD(weight_decay=) does in PyTorch.
        var sgd = SGD(momentum: 0, weightDecay: 0.5)
        var p: [Float] = [1, 1]
        let norm = sgd.step(parameters: &p, gradients: [3, 4], segments: [(0 ..< 2, 0.1)], maxGradientNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-9)
        XCTAssertEqual(p[0], 1 - 0.1 * (0.6 + 0.5), accuracy: 1e-5)
        XCTAssertEqual(p[1], 1 - 0.1 * (0.8 + 0.5), accuracy: 1e-5)
        // Below the limit nothing changes.
        var q: [Float] = [1, 1]
        sgd.step(parameters: &q, gradients: [0.3, 0.4], segments: [(0 ..< 2, 0.1)], maxGradientNorm: 1)
        XCTAssertEqual(q, [1 - 0.1 * (0.3 + 0.5), 1 - 0.1 * (0.4 + 0.5)])
    }

    func testAdamSegmentMatchesTorchAdamWAndLeavesSGDSegmentsAlone() {
        // Expected values: torch.optim.AdamW(lr=0.1, weight_decay=0.1) on p = (1, -2) with
        // gradients (0.5, 0.25) then (0.25, -1), worked through by hand.
        var optimizer = SGD(momentum: 0.9, weightDecay: 0.1)
        var p: [Float] = [1, -2, 1]
        optimizer.step(
            parameters: &p, gradients: [0.5, 0.25, 0.5],
            segments: [(0 ..< 2, 0.1, .adam(step: 1)), (2 ..< 3, 0.1, .sgd)])
        XCTAssertEqual(p[0], 0.89, accuracy: 1e-6)
        XCTAssertEqual(p[1], -2.08, accuracy: 1e-6)
        XCTAssertEqual(p[2], 1 - 0.1 * (0.5 + 0.1), accuracy: 1e-6, "the SGD segment takes a plain momentum step")
        optimizer.step(
            parameters: &p, gradients: [0.25, -1, 0.5],
            segments: [(0 ..< 2, 0.1, .adam(step: 2)), (2 ..< 3, 0.1, .sgd)])
        XCTAssertEqual(p[0], 0.787882, accuracy: 1e-5)
        XCTAssertEqual(p[1], -2.003250, accuracy: 1e-5)
        XCTAssertEqual(optimizer.secondMoment.count, 3)
        XCTAssertEqual(optimizer.secondMoment[2], 0, "no second moment outside Adam segments")
    }

    func testSeedScheduleIsStepLRPerIteration() {
        let seed = Recipe.seed
        XCTAssertEqual(seed.rate(iteration: 0, iterationsPerEpoch: 235), 0.01)
        XCTAssertEqual(seed.rate(iteration: 49_999, iterationsPerEpoch: 235), 0.01)
        XCTAssertEqual(seed.rate(iteration: 50_000, iterationsPerEpoch: 235), 0.001, accuracy: 1e-12)
    }

    func testCosineScheduleWarmsUpThenDecaysToZero() {
        var r = Recipe.standard
        r.epochs = 10
        r.schedule = .cosine(warmupEpochs: 1)
        let perEpoch = 100
        XCTAssertEqual(r.rate(iteration: 0, iterationsPerEpoch: perEpoch), r.learningRate / 100, accuracy: 1e-12)
        XCTAssertEqual(r.rate(iteration: 99, iterationsPerEpoch: perEpoch), r.learningRate, accuracy: 1e-12)
        XCTAssertEqual(r.rate(iteration: 100, iterationsPerEpoch: perEpoch), r.learningRate, accuracy: 1e-12)
        XCTAssertLessThan(r.rate(iteration: 999, iterationsPerEpoch: perEpoch), r.learningRate * 1e-3)
        var previous = Double.infinity
        for i in stride(from: 100, to: 1000, by: 50) {
            let rate = r.rate(iteration: i, iterationsPerEpoch: perEpoch)
            XCTAssertLessThanOrEqual(rate, previous)
            previous = rate
        }
    }

    func testScheduleNamesRoundTrip() {
        for name in ["cosine", "step", "constant"] {
            XCTAssertEqual(Recipe.Schedule.named(name)?.name, name)
        }
        XCTAssertNil(Recipe.Schedule.named("linear"))
        XCTAssertEqual(Recipe.standard.schedule.name, "cosine")
        XCTAssertEqual(Recipe.seed.schedule.name, "step")
    }

    func testPermutationIsDeterministicAndComplete() {
        let a = Trainer.permutation(count: 1000, seed: 7, epoch: 3)
        XCTAssertEqual(a, Trainer.permutation(count: 1000, seed: 7, epoch: 3))
        XCTAssertEqual(a.sorted(), Array(0 ..< 1000))
        XCTAssertNotEqual(a, Trainer.permutation(count: 1000, seed: 7, epoch: 4))
        XCTAssertNotEqual(a, Trainer.permutation(count: 1000, seed: 8, epoch: 3))
        XCTAssertNotEqual(a, Array(0 ..< 1000))
    }

    func testInitialisationFollowsPyTorchDefaults() {
        let w = Initializer.pytorchDefault(.stCNN, seed: 3)
        XCTAssertEqual(w, Initializer.pytorchDefault(.stCNN, seed: 3))
        XCTAssertNotEqual(w, Initializer.pytorchDefault(.stCNN, seed: 4))
        for spec in Architecture.stCNN.parameters where !spec.name.hasPrefix("localisation_net.8") {
            let bound = 1 / Float(spec.fanIn).squareRoot()
            let values = w[spec.name]
            XCTAssertLessThanOrEqual(values.map(abs).max()!, bound, spec.name)
            // Uniform over the whole interval, not a corner of it.
            XCTAssertGreaterThan(values.map(abs).max()!, bound * 0.5, spec.name)
        }
        XCTAssertEqual(w["localisation_net.8.weight"], [Float](repeating: 0, count: 120))
        XCTAssertEqual(w["localisation_net.8.bias"], [1, 0, 0, 0, 1, 0])
    }

    func testCSVLogHasHeaderAndOneRowPerEpoch() {
        let records = [
            EpochRecord(
                epoch: 1, trainLoss: 1.5, trainAccuracy: 0.5, testLoss: 1.25, testAccuracy: 0.625, seconds: 12.5,
                learningRate: 0.05),
            EpochRecord(
                epoch: 2, trainLoss: 0.5, trainAccuracy: 0.875, testLoss: 0.375, testAccuracy: 0.9, seconds: 25,
                learningRate: 0.025),
        ]
        let lines = TrainingLog.csv(records).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(
            String(lines[0]), "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,learning_rate")
        XCTAssertEqual(String(lines[2]), "2,0.500000,0.875000,0.375000,0.900000,25.0,0.025")
    }
}
