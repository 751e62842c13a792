import Foundation
import XCTest

/// What stn-train writes: a model whose weight file would not load is refused before training.
extension ToolTests {
    /// A layer named '/fc2' (or 'a//b') trained, then its weight file would not load:
    /// "missing dataset '/fc2.weight'". Refused now before any data is read, naming the layer.
    func testTrainRefusesLayerNamesAWeightFileCannotHold() throws {
        let directory = try temporaryDirectory()
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
