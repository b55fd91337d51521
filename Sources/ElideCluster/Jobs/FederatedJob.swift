import ElideFederated
import ElideSupport

/// Job kind `federated`: personalized federated learning on non-IID image data, with FedD2S, FedAvg, FedProx
/// or local-only training, and every client round, server step and evaluation run as a task on a worker.
///
/// The job starts with one partition task that loads the data set on a worker, splits it over the clients and
/// returns each client's training and test set. The coordinator stores these as artifacts, and later tasks
/// name them by digest. Clients keep their models on the worker that runs them, because tasks carry the client
/// as affinity key. A worker that lacks a client's model rebuilds it from the history its task carries, so the
/// report is the same in-process, on any number of workers and after a worker is lost. Only the report's
/// `timings` depend on the run.
public enum FederatedJob {
    public static let executorKind = "federated"

    public static let options: [OptionSpec] = [
        OptionSpec(
            "algorithm", value: "fedd2s|fedavg|fedprox|local",
            help: "fedd2s (reconstructed protocol), fedavg, fedprox (proximal term --mu) or local-only training.",
            default: "fedd2s"),
        OptionSpec(
            "dataset", value: "mnist|fashion-mnist",
            help: "Training split under $ELIDE_HOME/datasets on the worker that partitions it.", default: "mnist"),
        OptionSpec("clients", value: "N", help: "Clients in the federation.", default: "20"),
        OptionSpec(
            "partition", value: "dirichlet|shards",
            help: "Label skew: Dirichlet(--alpha) class shares, or --shards-per-client label-sorted shards.",
            default: "dirichlet"),
        OptionSpec("alpha", value: "A", help: "Dirichlet concentration; smaller is more skewed.", default: "0.3"),
        OptionSpec("shards-per-client", value: "K", help: "Shards per client with --partition shards.", default: "2"),
        OptionSpec("participation", value: "F", help: "Fraction of clients that train in each round.", default: "0.5"),
        OptionSpec("rounds", value: "R", help: "Communication rounds.", default: "20"),
        OptionSpec(
            "samples-per-client", value: "N|all",
            help: "Mean samples per client: a seeded pool of clients x N samples is partitioned; all uses the "
                + "whole training split.",
            default: "500"),
        OptionSpec(
            "test-fraction", value: "F", help: "Fraction of each client's samples kept for its own test set.",
            default: "0.2"),
        OptionSpec("local-epochs", value: "E", help: "Epochs of local training per round.", default: "1"),
        OptionSpec(
            "lr", value: "LR",
            help: "SGD learning rate (momentum 0.9, weight decay 5e-4). At 0.05 a single client's MNIST model "
                + "stays at chance level; averaging hides that in FedAvg.",
            default: "0.01"),
        OptionSpec("batch-size", value: "B", help: "Mini-batch size of every training step.", default: "32"),
        OptionSpec("mu", value: "MU", help: "FedProx proximal weight.", default: "0.01"),
        OptionSpec(
            "dropping-set", value: "CUTS",
            help: "FedD2S: cuts in the federation, deep to shallow (2 after fc1, 1 after conv2, 0 after conv1).",
            default: "2,1"),
        OptionSpec(
            "dropping-rate", value: "RHO",
            help: "FedD2S: round r uses dropping-set[min(|D|-1, floor(r*RHO))]; 0 keeps the deepest cut.",
            default: "0.05"),
        OptionSpec(
            "upload-samples", value: "N", help: "FedD2S: training samples each client uploads per round.",
            default: "100"),
        OptionSpec("temperature", value: "T", help: "FedD2S: distillation temperature.", default: "2"),
        OptionSpec("lambda", value: "L", help: "FedD2S: KL weight in CE + L*T^2*KL, on both sides.", default: "1"),
        OptionSpec(
            "server-epochs", value: "E", help: "FedD2S: server epochs over the uploads per round.", default: "1"),
        OptionSpec(
            "distill-epochs", value: "E", help: "FedD2S: client epochs over its upload sample when distilling.",
            default: "1"),
        OptionSpec("conv1", value: "C", help: "Channels of the first convolution.", default: "32"),
        OptionSpec("conv2", value: "C", help: "Channels of the second convolution.", default: "64"),
        OptionSpec("hidden", value: "H", help: "Units of the hidden dense layer.", default: "512"),
        OptionSpec(
            "threads", value: "N",
            help: "Compute threads per task; keep it fixed, because results are bit-identical only at equal counts.",
            default: "1"),
        OptionSpec(
            "eval-clients-per-task", value: "N", help: "FedAvg and FedProx: clients evaluated by one task.",
            default: "5"),
    ]

    public static let kind = JobKind(
        name: "federated",
        summary: "Federated learning on non-IID MNIST or Fashion-MNIST: FedD2S, FedAvg, FedProx or local-only.",
        options: options, makeDriver: { try FederatedDriver(spec: $0) }, executors: [FederatedExecutor()])
}
