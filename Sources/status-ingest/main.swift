import Foundation
import StatusIngest

exit(StatusIngestCommand.main(Array(CommandLine.arguments.dropFirst())))
