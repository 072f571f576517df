package traffic_test

import (
	"context"
	"fmt"
	"os"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
)

// Switch an app behind nginx on the host to green and check the public URL.
// The site configuration includes the upstream file in its http block and
// proxies with `proxy_pass http://myapp_backend;`.
func ExampleNewNginx() {
	sw, err := traffic.NewNginx(traffic.NginxConfig{
		App: "myapp",
		Routes: []traffic.Route{{Name: "myapp_backend", Upstreams: traffic.Upstreams{
			traffic.Blue:  {"127.0.0.1:8001"},
			traffic.Green: {"127.0.0.1:8002"},
		}}},
		Command:      []string{"sudo", "-n", "nginx"},
		ColourListen: "127.0.0.1:8999",
		Runner:       host.NewLocal(),
	})
	if err != nil {
		panic(err)
	}
	file, _ := sw.Render(traffic.Green)
	fmt.Printf("%s -> %s\n%s", sw.UpstreamFile(), sw.ReloadArgv(), file)

	// In a deployment:
	//	err = sw.Switch(ctx, traffic.Green)
	//	err = sw.Verify(ctx, traffic.Green, health.Policy{}) // nginx's colour server answers green

	// Output:
	// /etc/nginx/blueshift/myapp-upstream.conf -> [sudo -n nginx -s reload]
	// # blueshift colour=green
	// # Written by blueshift for myapp; the next switch replaces this file.
	// upstream myapp_backend {
	//     server 127.0.0.1:8002;
	//     keepalive 16;
	// }
	// map $host $blueshift_myapp_colour {
	//     default "green";
	// }
	// # The colour nginx has loaded, for blueshift to check after a switch.
	// server {
	//     listen 127.0.0.1:8999;
	//     server_name blueshift-colour.myapp;
	//     access_log off;
	//     location = /blueshift/colour {
	//         default_type application/json;
	//         return 200 '{"app":"myapp","colour":"$blueshift_myapp_colour"}\n';
	//     }
	//     location / {
	//         return 404;
	//     }
	// }
}

// Write Caddy's initial configuration for an app and its first colour
// file, then switch it: the switcher renames the colour file Caddy checks on
// every request, and never changes Caddy's configuration.
func ExampleCaddyInitialConfig() {
	route := traffic.Route{Name: "myapp_backend", Upstreams: traffic.Upstreams{
		traffic.Blue:  {"127.0.0.1:8001"},
		traffic.Green: {"127.0.0.1:8002"},
	}}
	cfg, err := traffic.CaddyInitialConfig(traffic.CaddySite{App: "myapp", Listen: []string{":80"}, Route: route, Dir: "/etc/caddy/blueshift"})
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(cfg)
	// Blue serves first: create /etc/caddy/blueshift/myapp_backend/blue.

	// Once Caddy runs it (caddy run --config caddy.json):
	local := host.NewLocal()
	sw, _ := traffic.NewCaddy(traffic.CaddyConfig{Routes: []traffic.Route{route}, Dir: "/etc/caddy/blueshift", Runner: local, Dialer: local})
	_ = func(ctx context.Context) error { return sw.Switch(ctx, traffic.Green) }

	// Output:
	// {
	//   "admin": {
	//     "listen": "127.0.0.1:2019"
	//   },
	//   "apps": {
	//     "http": {
	//       "servers": {
	//         "myapp": {
	//           "automatic_https": {
	//             "disable": true
	//           },
	//           "listen": [
	//             ":80"
	//           ],
	//           "routes": [
	//             {
	//               "handle": [
	//                 {
	//                   "@id": "myapp_backend",
	//                   "handler": "subroute",
	//                   "routes": [
	//                     {
	//                       "handle": [
	//                         {
	//                           "handler": "reverse_proxy",
	//                           "headers": {
	//                             "response": {
	//                               "set": {
	//                                 "X-Blueshift-Proxy-Colour": [
	//                                   "blue"
	//                                 ]
	//                               }
	//                             }
	//                           },
	//                           "upstreams": [
	//                             {
	//                               "dial": "127.0.0.1:8001"
	//                             }
	//                           ]
	//                         }
	//                       ],
	//                       "match": [
	//                         {
	//                           "file": {
	//                             "root": "/etc/caddy/blueshift/myapp_backend",
	//                             "try_files": [
	//                               "/blue"
	//                             ]
	//                           }
	//                         }
	//                       ],
	//                       "terminal": true
	//                     },
	//                     {
	//                       "handle": [
	//                         {
	//                           "handler": "reverse_proxy",
	//                           "headers": {
	//                             "response": {
	//                               "set": {
	//                                 "X-Blueshift-Proxy-Colour": [
	//                                   "green"
	//                                 ]
	//                               }
	//                             }
	//                           },
	//                           "upstreams": [
	//                             {
	//                               "dial": "127.0.0.1:8002"
	//                             }
	//                           ]
	//                         }
	//                       ],
	//                       "match": [
	//                         {
	//                           "file": {
	//                             "root": "/etc/caddy/blueshift/myapp_backend",
	//                             "try_files": [
	//                               "/green"
	//                             ]
	//                           }
	//                         }
	//                       ],
	//                       "terminal": true
	//                     },
	//                     {
	//                       "handle": [
	//                         {
	//                           "body": "no live colour\n",
	//                           "handler": "static_response",
	//                           "status_code": 503
	//                         }
	//                       ]
	//                     }
	//                   ]
	//                 }
	//               ],
	//               "terminal": true
	//             }
	//           ]
	//         }
	//       }
	//     }
	//   }
	// }
}
