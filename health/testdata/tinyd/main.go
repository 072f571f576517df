// Command tinyd is the one program in the health package's test image (a
// FROM scratch image has no shell): "serve" idles until SIGTERM, "echo"
// prints its arguments, "exit N [MSG]" prints MSG to stderr and exits N.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tinyd serve | echo WORDS | exit N [MSG]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
	case "echo":
		fmt.Println(strings.Join(os.Args[2:], " "))
	case "exit":
		code, _ := strconv.Atoi(os.Args[2])
		if len(os.Args) > 3 {
			fmt.Fprintln(os.Stderr, strings.Join(os.Args[3:], " "))
		}
		os.Exit(code)
	default:
		fmt.Fprintln(os.Stderr, "tinyd: unknown command", os.Args[1])
		os.Exit(2)
	}
}
