import XCTest

@testable import STNModel

final class ArchitectureTests: XCTestCase {
    func testParameterCountsMatchTheSeed() {
        XCTAssertEqual(Architecture.cnn.parameterCount, 112_052)
        XCTAssertEqual(Architecture.stCNN.parameterCount, 110_478)
    }

    func testStateDictNamesAndShapes() {
        let cnn = Architecture.cnn.parameters.map { "\($0.name) \($0.shape)" }
        XCTAssertEqual(
            cnn,
            [
                "convs.0.weight [36, 1, 9, 9]", "convs.0.bias [36]",
                "convs.3.weight [36, 36, 7, 7]", "convs.3.bias [36]",
                "classification.0.weight [50, 900]", "classification.0.bias [50]",
                "classification.2.weight [10, 50]", "classification.2.bias [10]",
            ])
        let st = Architecture.stCNN.parameters.map { "\($0.name) \($0.shape)" }
        XCTAssertEqual(
            st,
            [
                "localisation_net.0.weight [20, 1, 5, 5]", "localisation_net.0.bias [20]",
                "localisation_net.3.weight [20, 20, 5, 5]", "localisation_net.3.bias [20]",
                "localisation_net.6.weight [20, 320]", "localisation_net.6.bias [20]",
                "localisation_net.8.weight [6, 20]", "localisation_net.8.bias [6]",
                "convs.0.weight [32, 1, 9, 9]", "convs.0.bias [32]",
                "convs.3.weight [32, 32, 7, 7]", "convs.3.bias [32]",
                "classification.0.weight [50, 800]", "classification.0.bias [50]",
                "classification.2.weight [10, 50]", "classification.2.bias [10]",
            ])
    }

    func testOutputShapesFollowTheLayers() {
        let shapes = Architecture.stCNN.shapes.mapValues(\.description)
        XCTAssertEqual(shapes["downsampled"], "1x21x21")
        XCTAssertEqual(shapes["localisation_net.1"], "20x8x8")
        XCTAssertEqual(shapes["localisation_net.5"], "320")
        XCTAssertEqual(shapes["localisation_net.8"], "6")
        XCTAssertEqual(shapes["grid"], "2x42x42")
        XCTAssertEqual(shapes["sampled"], "1x42x42")
        XCTAssertEqual(shapes["convs.0"], "32x34x34")
        XCTAssertEqual(shapes["convs.4"], "32x5x5")
        XCTAssertEqual(shapes["flat"], "800")
        XCTAssertEqual(Architecture.cnn.shapes["flat"], .vector(900))
        XCTAssertFalse(Architecture.cnn.hasTransformer)
        XCTAssertTrue(Architecture.stCNN.hasTransformer)
        XCTAssertEqual(Architecture.pytorchTutorial.shapes["xs"], .vector(90))
        XCTAssertEqual(Architecture.pytorchTutorial.shapes["flat"], .vector(320))
    }

    func testFanInIsInputsPerOutputUnit() {
        XCTAssertEqual(Architecture.stCNN.parameter("convs.3.weight")?.fanIn, 32 * 49)
        XCTAssertEqual(Architecture.stCNN.parameter("convs.3.bias")?.fanIn, 32 * 49)
        XCTAssertEqual(Architecture.cnn.parameter("classification.0.weight")?.fanIn, 900)
    }

    func testSummaryListsEveryLayerAndTheTotal() {
        let summary = Architecture.stCNN.summary()
        for layer in Architecture.stCNN.layers { XCTAssertTrue(summary.contains(layer.name), layer.name) }
        XCTAssertTrue(summary.contains("total parameters: 110,478"))
    }

    func testNamedLookup() {
        XCTAssertEqual(Architecture.preset(named: "st-cnn"), .stCNN)
        XCTAssertEqual(Architecture.preset(named: "cnn"), .cnn)
        XCTAssertEqual(Architecture.preset(named: "pytorch-tutorial"), .pytorchTutorial)
        XCTAssertNil(Architecture.preset(named: "resnet"))
        XCTAssertNil(Architecture.preset(named: "st"))
        for preset in Architecture.presets { XCTAssertEqual(Architecture.preset(named: preset.name), preset) }
    }

    func testTutorialParametersAreTheTutorialsStateDict() {
        let tutorial = Architecture.pytorchTutorial.parameters.map { "\($0.name) \($0.shape)" }.sorted()
        XCTAssertEqual(
            tutorial,
            [
                "conv1.bias [10]", "conv1.weight [10, 1, 5, 5]", "conv2.bias [20]", "conv2.weight [20, 10, 5, 5]",
                "fc1.bias [50]", "fc1.weight [50, 320]", "fc2.bias [10]", "fc2.weight [10, 50]", "fc_loc.0.bias [32]",
                "fc_loc.0.weight [32, 90]", "fc_loc.2.bias [6]", "fc_loc.2.weight [6, 32]", "localization.0.bias [8]",
                "localization.0.weight [8, 1, 7, 7]", "localization.3.bias [10]", "localization.3.weight [10, 8, 5, 5]",
            ])
        XCTAssertEqual(Architecture.pytorchTutorial.thetaLayers, ["fc_loc.2"])
        XCTAssertEqual(
            Architecture.pytorchTutorial.localisationLayers,
            ["localization.0", "localization.3", "fc_loc.0", "fc_loc.2"])
    }

    func testEveryPresetsTextReadsBackToTheSameDescription() throws {
        for preset in Architecture.presets {
            let text = preset.modelDescription.text
            XCTAssertEqual(try ModelDescription(parsing: text), preset.modelDescription, preset.name)
            XCTAssertEqual(try Architecture(parsing: text), preset, preset.name)
        }
    }

    /// The text is read as bytes: Windows line endings, tabs, comments and non-ASCII comment
    /// text read as the plain form does, and an error still names its line.
    func testLineEndingsCommentsAndErrorLines() throws {
        let text = Architecture.stCNN.modelDescription.text
        let windows = text.replacingOccurrences(of: "\n", with: "\r\n")
        XCTAssertEqual(try ModelDescription(parsing: windows), Architecture.stCNN.modelDescription)
        let commented = text.replacingOccurrences(of: "\n", with: "\t# θ → α, ünïcode\n")
        XCTAssertEqual(try ModelDescription(parsing: commented), Architecture.stCNN.modelDescription)
        var lines = text.split(separator: "\n").map(String.init)
        lines[3] = "conv only-two"
        XCTAssertThrowsError(try ModelDescription(parsing: lines.joined(separator: "\r\n"))) { error in
            XCTAssertEqual((error as? DescriptionError)?.line, 4)
            XCTAssertTrue("\(error)".contains("found 'conv only-two'"), "\(error)")
        }
    }
}
