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
        let st = Architecture.stCNN
        let shapes = Dictionary(uniqueKeysWithValues: st.layers.map { ($0.name, $0.outputShape) })
        XCTAssertEqual(shapes["downsample"], [1, 21, 21])
        XCTAssertEqual(shapes["localisation_net.1"], [20, 8, 8])
        XCTAssertEqual(shapes["localisation_net.5"], [320])
        XCTAssertEqual(shapes["localisation_net.8"], [6])
        XCTAssertEqual(shapes["grid_sample"], [1, 42, 42])
        XCTAssertEqual(shapes["convs.0"], [32, 34, 34])
        XCTAssertEqual(shapes["convs.4"], [32, 5, 5])
        XCTAssertEqual(shapes["flatten"], [800])
        XCTAssertEqual(Architecture.cnn.layers.first { $0.name == "flatten" }?.outputShape, [900])
        XCTAssertEqual(Architecture.cnn.classifierChannels, 36)
        XCTAssertFalse(Architecture.cnn.hasTransformer)
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
        XCTAssertEqual(Architecture.named("st-cnn")?.kind, .stCNN)
        XCTAssertEqual(Architecture.named("cnn")?.kind, .cnn)
        XCTAssertNil(Architecture.named("resnet"))
    }
}
