import Testing

@testable import ElideFederated

struct MetricsTests {
    @Test func metricsByHand() {
        let accuracies = [
            ClientAccuracy(correct: 9, count: 10), ClientAccuracy(correct: 5, count: 10),
            ClientAccuracy(correct: 7, count: 10), ClientAccuracy(correct: 3, count: 4),
        ]
        let metrics = RoundMetrics(
            round: 2, accuracies: accuracies, bytesUploaded: 100, bytesDownloaded: 40, participants: [0, 2])
        // Accuracies 0.9, 0.5, 0.7, 0.75: mean 0.7125; squared deviations 0.03515625, 0.04515625, 0.00015625,
        // 0.00140625 sum to 0.081875, so the population standard deviation is sqrt(0.02046875).
        #expect(abs(metrics.meanAccuracy - 0.7125) < 1e-12)
        #expect(abs(metrics.accuracyStandardDeviation - 0.02046875.squareRoot()) < 1e-12)
        // ceil(0.1 * 4) = 1 client: the worst one.
        #expect(metrics.worstTenPercentAccuracy == 0.5)
        #expect(metrics.bytesCommunicated == 140)
    }

    @Test func worstTenPercentOfTwentyAveragesTwo() {
        let accuracies = (0..<20).map { ClientAccuracy(correct: $0, count: 20) }
        let metrics = RoundMetrics(
            round: 1, accuracies: accuracies, bytesUploaded: 0, bytesDownloaded: 0, participants: [])
        #expect(abs(metrics.worstTenPercentAccuracy - 0.5 / 20) < 1e-12)
    }

    @Test func emptyTestSetCountsAsZero() {
        #expect(ClientAccuracy(correct: 0, count: 0).accuracy == 0)
        let metrics = RoundMetrics(round: 0, accuracies: [], bytesUploaded: 0, bytesDownloaded: 0, participants: [])
        #expect(metrics.meanAccuracy == 0)
        #expect(metrics.accuracyStandardDeviation == 0)
    }
}
