// Command tandem is the programmable voice switch daemon.
package main

func main() {}
