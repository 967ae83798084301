import Foundation

/// Per-client outage across a failure: from the last answered echo before the failure to the
/// first answered echo after it (the gap in the client's answered pings that spans the
/// failure instant). Summarised as min, median, p95 and max beside the DPD detection time.
struct OutageMeasurement {
    /// Client → outage in seconds; nil when no answer came after the failure.
    var outages: [String: Double?]

    init(failureAt: Double, answered: [String: [Double]]) {
        var outages: [String: Double?] = [:]
        for (client, times) in answered {
            let sorted = times.sorted()
            let before = sorted.last { $0 <= failureAt }
            let after = sorted.first { $0 > failureAt }
            if let after {
                outages[client] = after - (before ?? failureAt)
            } else {
                outages[client] = .some(nil)
            }
        }
        self.outages = outages
    }

    var measured: [Double] { outages.values.compactMap { $0 }.sorted() }
    var unrecovered: [String] { outages.filter { $0.value == nil }.map(\.key).sorted() }

    /// Nearest-rank percentile of the recovered clients' outages.
    func percentile(_ p: Double) -> Double? {
        let values = measured
        guard !values.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(values.count)).rounded(.up))
        return values[min(max(rank, 1), values.count) - 1]
    }

    func summary(dpdDetection: Double) -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.2f s", $0) } ?? "-" }
        return "outage over \(measured.count) clients: min \(f(measured.first)) median \(f(percentile(50))) p95 \(f(percentile(95))) "
            + "max \(f(measured.last)); DPD detection \(f(dpdDetection)); unrecovered \(unrecovered)"
    }
}
