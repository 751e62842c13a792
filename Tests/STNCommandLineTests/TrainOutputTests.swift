import Foundation
import STNSystem
import STNTestSupport
import XCTest

/// What stn-train writes: every file of a run is claimed for the run (weights, checkpoint,
/// log, curves), and a model whose weight file would not load is refused before training.
extension ToolTests {
    /// The lock covered only the weights: a run with `--out x.h5` went on while another
    /// process wrote `x.checkpoint.h5` as its weights, and replaced them every epoch.
    func testTrainRefusesToStartWhileAnyFileItWouldWriteIsClaimed() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        for claimed in ["x.checkpoint.h5", "x.csv", "x.png"] {
            let other = try OutputLock(for: directory + "/" + claimed)
            defer { other.release() }
            try assertRefused(
                "stn-train", ["--model", "cnn", "--epochs", "1", "--limit", "64", "--out", directory + "/x.h5"],
                "\(directory)/\(claimed): another process (pid \(getpid())) is writing this output and holds \(directory)/\(claimed).lock; wait for it or choose another output",
                status: 1)
            // Nothing of the refused run is left: not its own lock files, no weights.
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [claimed + ".lock"])
        }
    }

    /// Two real trainers: while one writes x.h5 (and so x.checkpoint.h5), a second with
    /// --out x.checkpoint.h5 (or x.csv, x.png) is refused at once.
    func testASecondTrainerCannotWriteTheFirstOnesCheckpoint() throws {
        let mnist = try FixturePaths.mnistDirectory()
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let executable = Self.buildDirectory.appendingPathComponent("stn-train")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw XCTSkip("stn-train not built")
        }
        let first = Process()
        first.executableURL = executable
        first.arguments = [
            "--model", "pytorch-tutorial", "--distortion", "none", "--epochs", "1000", "--quiet", "--threads", "1",
            "--data", mnist, "--out", directory + "/x.h5",
        ]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer {
            if first.isRunning { kill(first.processIdentifier, SIGKILL) }
            first.waitUntilExit()
        }
        // The first run holds its locks once every lock file is there (taken in order, the
        // checkpoint's last).
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: directory + "/x.checkpoint.h5.lock") && first.isRunning
            && Date() < deadline
        {
            usleep(5_000)
        }
        XCTAssertTrue(first.isRunning, "the first trainer ended early")
        for out in ["x.checkpoint.h5", "x.csv", "x.png"] {
            try assertRefused(
                "stn-train", ["--model", "cnn", "--epochs", "1", "--limit", "64", "--out", directory + "/" + out],
                "\(directory)/\(out): another process (pid \(first.processIdentifier)) is writing this output and holds \(directory)/\(out).lock; wait for it or choose another output",
                status: 1)
        }
    }

    /// A layer named '/fc2' (or 'a//b') trained, then its weight file would not load:
    /// "missing dataset '/fc2.weight'". Refused now before any data is read, naming the layer.
    func testTrainRefusesLayerNamesAWeightFileCannotHold() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let layers = [
            "/fc2": "linear /fc2 flat out=10\nlog_softmax out /fc2",
            "a//b": "linear a//b flat out=10\nlog_softmax out a//b",
            "./fc": "linear ./fc flat out=10\nlog_softmax out ./fc",
            "a/./b": "linear a/./b flat out=10\nlog_softmax out a/./b",
        ]
        for (name, text) in layers {
            let path = directory + "/model.txt"
            try ("stn-model 1 name=bad\ninput image 1x28x28\nflatten flat image\n" + text + "\n").write(
                toFile: path, atomically: true, encoding: .utf8)
            try assertRefused(
                "stn-train", ["--architecture", path, "--out", directory + "/w.h5", "--data", directory + "/none"],
                "\(path): layer '\(name)': '\(name)' cannot prefix parameter names: a weight file would not load them back (no leading '/', no '//', no '.' part)"
            )
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["model.txt"])
        }
        // params= names the parameters directly: refused as the description is read, by line.
        let path = directory + "/model.txt"
        try
            "stn-model 1 name=bad\ninput image 1x28x28\nflatten flat image\nlinear fc flat out=10 params=/fc2\nlog_softmax out fc\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        try assertRefused(
            "stn-train", ["--architecture", path, "--out", directory + "/w.h5"],
            "\(path): model description line 4: '/fc2' cannot prefix parameter names: a weight file would not load them back (no leading '/', no '//', no '.' part)"
        )
    }
}

extension ToolTests {
    /// A classifier of more than 64 classes trained, then stn-infer refused it ("the engine
    /// reports at most 64"). Any class count now goes from stn-train to stn-infer, every
    /// class's log-probability included.
    func testAModelOfMoreThan64ClassesTrainsAndAnswers() throws {
        let mnist = try FixturePaths.mnistDirectory()
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let description = """
            stn-model 1 name=wide
            input image 1x28x28
            flatten flat image
            linear hidden flat out=16
            relu hidden.act hidden
            linear classes hidden.act out=100
            log_softmax log_probs classes
            """
        try description.write(toFile: directory + "/wide.txt", atomically: true, encoding: .utf8)
        let trained = try run(
            "stn-train",
            [
                "--architecture", directory + "/wide.txt", "--distortion", "none", "--data", mnist, "--epochs", "1",
                "--limit", "256", "--test-limit", "100", "--quiet", "--threads", "1", "--out", directory + "/wide.h5",
            ])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let answered = try run(
            "stn-infer", [Self.images + "/digit.png", "--weights", directory + "/wide.h5", "--format", "json"])
        XCTAssertEqual(answered.status, 0, answered.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(answered.stdout.utf8)) as? [String: Any]
        let logProbs = try XCTUnwrap(object?["log_probs"] as? [Double])
        XCTAssertEqual(logProbs.count, 100)
        let total = logProbs.reduce(0) { $0 + exp($1) }
        XCTAssertEqual(total, 1, accuracy: 1e-4)
    }
}
