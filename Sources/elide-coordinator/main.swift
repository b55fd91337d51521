import ElideCluster
import Foundation

exit(CoordinatorCommand.main(Array(CommandLine.arguments.dropFirst())))
