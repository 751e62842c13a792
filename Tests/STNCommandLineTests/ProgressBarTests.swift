import STNCommandLine
import XCTest

/// The terminal progress bar's text: its fill, its fit to the terminal's width, the time left.
final class ProgressBarTests: XCTestCase {
    func testBarFillsInProportion() {
        XCTAssertEqual(ProgressBar.bar(fraction: 0, width: 12), "[>         ]")
        XCTAssertEqual(ProgressBar.bar(fraction: 0.5, width: 12), "[=====>    ]")
        XCTAssertEqual(ProgressBar.bar(fraction: 1, width: 12), "[==========]")
        XCTAssertEqual(ProgressBar.bar(fraction: 7, width: 6), "[====]")
        XCTAssertEqual(ProgressBar.bar(fraction: .nan, width: 6), "[>   ]")
    }

    func testLineFitsTheTerminalAndDropsWhatDoesNotFit() {
        let wide = ProgressBar.line(
            prefix: "epoch 2/5", fraction: 0.25, suffix: "loss 0.1234  ETA 3m05s", optional: ["batch 10/40", "lr 0.1"],
            columns: 120)
        XCTAssertEqual(
            wide,
            "epoch 2/5 [=========>                            ]  25%  loss 0.1234  ETA 3m05s  batch 10/40  lr 0.1")
        XCTAssertLessThan(wide.count, 120)
        for columns in [100, 80, 60, 40, 20] {
            let line = ProgressBar.line(
                prefix: "epoch 2/5", fraction: 0.25, suffix: "loss 0.1234  ETA 3m05s",
                optional: ["batch 10/40", "lr 0.1"], columns: columns)
            XCTAssertLessThan(line.count, columns, line)
            XCTAssertTrue(line.hasPrefix("epoch 2/5"), line)
        }
        // 60 columns: the optional parts go, the bar stays.
        XCTAssertEqual(
            ProgressBar.line(
                prefix: "epoch 2/5", fraction: 0.25, suffix: "loss 0.1234  ETA 3m05s", optional: ["batch 10/40"],
                columns: 60),
            "epoch 2/5 [====>             ]  25%  loss 0.1234  ETA 3m05s")
    }

    func testDurations() {
        XCTAssertEqual(ProgressBar.duration(42.4), "42s")
        XCTAssertEqual(ProgressBar.duration(185), "3m05s")
        XCTAssertEqual(ProgressBar.duration(7620), "2h07m")
        XCTAssertEqual(ProgressBar.duration(.infinity), "?")
        XCTAssertEqual(ProgressBar.duration(-1), "?")
    }
}
