import Foundation
import STNData
import STNLibHDF5
import STNModel
import XCTest

@testable import STNTrainer

/// Training on the user's data (no MNIST needed): the same seed and thread count give
/// bit-identical weights, a checkpoint resumes mid-epoch to them and keeps the class names,
/// and each epoch's evaluation reports every prediction.
final class UserDataTrainingTests: XCTestCase {
    static let model = """
        stn-model 1 name=tiny
        input image 1x8x8
        conv c0 image out=4 kernel=3 padding=1
        relu c1 c0
        flatten f c1
        linear out f out=3
        log_softmax p out
        """

    /// A folder of three classes of 8x8 grey PGMs (a bright band at the class's third).
    func imageFolder() throws -> String {
        let root = NSTemporaryDirectory() + "stn-user-data-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        for (label, name) in ["low", "middle", "high"].enumerated() {
            try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
            for i in 0 ..< 10 {
                let pixels = (0 ..< 64).map { p -> UInt8 in
                    UInt8((p * 7 + i * 13) % 40) + ((p / 8) * 3 / 8 == label ? 200 : 0)
                }
                try Data(Array("P5\n8 8\n255\n".utf8) + pixels).write(
                    to: URL(fileURLWithPath: "\(root)/\(name)/\(i).pgm"))
            }
        }
        return root
    }

    func configuration(_ root: String) throws -> TrainingConfiguration {
        var recipe = Recipe.standard
        recipe.epochs = 2
        recipe.batchSize = 8
        var configuration = TrainingConfiguration(
            architecture: try Architecture(parsing: Self.model), recipe: recipe, seed: 3, threads: 2)
        configuration.dataSource = DataSource(train: root, validationFraction: 0.2)
        return configuration
    }

    func trainer(_ c: TrainingConfiguration, resume: TrainingState? = nil) throws -> Trainer {
        var c = c
        let data = try TrainingData.open(c.dataSource!, architecture: c.architecture)
        c.classNames = data.classNames
        return try Trainer(configuration: c, data: data, resume: resume)
    }

    func testSameSeedGivesBitIdenticalWeightsAndResumeReachesThem() throws {
        let root = try imageFolder()
        let c = try configuration(root)
        let a = try trainer(c)
        var evaluations: [Evaluation] = []
        try a.run(
            events: { if case .evaluation(let e) = $0 { evaluations.append(e) } }, shouldStop: { false },
            checkpoint: { _ in })
        XCTAssertEqual(a.trainingImages, 24)
        XCTAssertEqual(a.testImages, 6)
        XCTAssertEqual(evaluations.count, 2)
        let last = evaluations.last!
        XCTAssertEqual(last.predictions.count, 6)
        XCTAssertEqual(
            Double(zip(last.predictions, last.labels).filter { $0 == Int($1) }.count) / 6, last.accuracy,
            accuracy: 1e-12)
        XCTAssertEqual(a.state.history.last?.testAccuracy, last.accuracy)

        let b = try trainer(c)
        try b.run(events: { _ in }, shouldStop: { false }, checkpoint: { _ in })
        XCTAssertEqual(a.state.parameters, b.state.parameters)

        // Stopped after 4 batches (mid-epoch 2), checkpointed, read back and resumed.
        let stopped = try trainer(c)
        var batches = 0
        try stopped.run(
            events: { if case .batch = $0 { batches += 1 } }, shouldStop: { batches >= 4 }, checkpoint: { _ in })
        let path = NSTemporaryDirectory() + "stn-user-data-\(UUID().uuidString).checkpoint.h5"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.write(stopped.state, configuration: stopped.configuration, to: path)
        let (state, saved) = try Checkpoint.read(path)
        XCTAssertEqual(saved.dataSource, c.dataSource)
        XCTAssertEqual(saved.classNames, ["high", "low", "middle"])
        let resumed = try trainer(saved, resume: state)
        try resumed.run(events: { _ in }, shouldStop: { false }, checkpoint: { _ in })
        XCTAssertEqual(resumed.state.parameters, a.state.parameters)
        let file = try resumed.weightFile()
        XCTAssertEqual(file.attributes["class_names"], .string("high\nlow\nmiddle"))
        XCTAssertEqual(file.attributes["train_images"], .int(24))
    }

    /// A float32 IDX pair holding what the trainer makes of each byte (k x (1/255) in float32)
    /// trains the weights of the 8-bit pair bit for bit, with --augment too.
    func testFloatIDXTrainsTheWeightsOfTheByteFile() throws {
        let root = NSTemporaryDirectory() + "stn-user-data-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let count = 30
        let labels = (0 ..< count).map { UInt8($0 % 3) }
        var pixels: [UInt8] = []
        for i in 0 ..< count {
            for p in 0 ..< 64 {
                let bright = (p / 8) * 3 / 8 == i % 3
                pixels.append(UInt8((p * 7 + i * 13) % 40 + (bright ? 200 : 0)))
            }
        }
        try IDX.writeImages(IDXImages(count: count, rows: 8, columns: 8, pixels: pixels), to: root + "/bytes")
        try IDX.writeFloatImages(
            pixels.map { Float($0) * (1 / 255) }, count: count, rows: 8, columns: 8, to: root + "/floats")
        try IDX.writeLabels(labels, to: root + "/labels")
        var parameters: [[Float]] = []
        for images in ["bytes", "floats"] {
            var c = try configuration(root)
            c.dataSource = DataSource(train: "\(root)/\(images),\(root)/labels", validationFraction: 0.2)
            c.augmentation = try Augmentation(parsing: "rotate=10,shift=0.1")
            let t = try trainer(c)
            try t.run(events: { _ in }, shouldStop: { false }, checkpoint: { _ in })
            parameters.append(t.state.parameters)
        }
        XCTAssertEqual(parameters[0], parameters[1])
    }

    /// --limit takes the first images of a fixed shuffle: every class, not the first one's.
    func testLimitSamplesEveryClass() throws {
        let root = try imageFolder()
        var c = try configuration(root)
        c.limit = 6
        let t = try trainer(c)
        XCTAssertEqual(t.trainingImages, 6)
        let labels = Set((0 ..< 6).map { t.data.train.label($0) })
        XCTAssertGreaterThan(labels.count, 1)
    }
}
