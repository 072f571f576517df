package version_test

import (
	"fmt"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/version"
)

func ExampleParse() {
	v, err := version.Parse("v1.0.1-hotfix-1")
	fmt.Println(v, err)
	_, err = version.Parse("1.0.1")
	fmt.Println(err)
	_, err = version.Parse("v01.0.0")
	fmt.Println(err)
	// Output:
	// v1.0.1-hotfix-1 <nil>
	// version "1.0.1": add the v prefix (v1.0.1)
	// version "v01.0.0": major version has a leading zero ("01")
}

func ExampleCompare() {
	a, b := version.MustParse("v1.0.0-rc.1"), version.MustParse("v1.0.0")
	fmt.Println(version.Compare(a, b))
	// Output: -1
}

func ExampleAuto() {
	at := time.Date(2025, 1, 5, 8, 30, 50, 0, time.UTC)
	v := version.Auto(at)
	fmt.Println(v)
	fmt.Println(version.DeploymentID("production", v, at))
	// Output:
	// v2025.105.83050
	// prod-v2025.105.83050-20250105_083050
}

func ExampleColour_Other() {
	live := version.Blue
	fmt.Println(live.Other())
	// Output: green
}
