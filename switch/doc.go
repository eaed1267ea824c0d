// Package callswitch is tandem's call control: the Call and its legs, the
// TwiML interpreter, Dial, REFER handling, custom parameters, status callbacks
// and call records.
//
// The folder is switch/ but switch is a Go keyword, so the package is named
// callswitch; import it as callswitch "tandem/switch".
package callswitch
