package kernels

import "os"

// noAsmEnv names the environment variable that, set to "1" (or "true"), makes every kernel of this
// package take its portable pure-Go path even where an assembly path exists.
const noAsmEnv = "BRAINVQ_NOASM"

// asmDisabledByEnv reports whether BRAINVQ_NOASM asks for the pure-Go paths.
func asmDisabledByEnv() bool {
	switch os.Getenv(noAsmEnv) {
	case "1", "true", "TRUE", "yes":
		return true
	}
	return false
}
