// Generates big.db: a bbolt file exercising branch pages, overflow pages, nested and inline buckets.
// Build with Debian's golang-go and golang-github-coreos-bbolt-dev (offline):
//   GOPATH=/usr/share/gocode GO111MODULE=off go run main.go OUT.db
// The contents follow formulas the TypeScript test re-computes (see bolt.test.ts).
package main

import (
	"fmt"
	"os"
	"strings"

	bolt "go.etcd.io/bbolt"
)

func main() {
	db, err := bolt.Open(os.Args[1], 0600, nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		// 3000 small keys: branch pages.
		b, _ := tx.CreateBucket([]byte("small"))
		for i := 0; i < 3000; i++ {
			b.Put([]byte(fmt.Sprintf("key-%05d", i)), []byte(fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", i%50))))
		}
		// 40 large values: overflow pages.
		l, _ := tx.CreateBucket([]byte("large"))
		for i := 0; i < 40; i++ {
			l.Put([]byte(fmt.Sprintf("big-%02d", i)), []byte(strings.Repeat(fmt.Sprintf("%c", 'a'+i%26), 5000+i*500)))
		}
		// 600 nested buckets: most inline (tiny), every 10th large enough to get its own pages.
		n, _ := tx.CreateBucket([]byte("nested"))
		for i := 0; i < 600; i++ {
			sb, _ := n.CreateBucket([]byte(fmt.Sprintf("pkg-%04d", i)))
			count := 2
			if i%10 == 0 {
				count = 300
			}
			for j := 0; j < count; j++ {
				sb.Put([]byte(fmt.Sprintf("CVE-2024-%05d", j)), []byte(fmt.Sprintf(`{"FixedVersion":"%d.%d"}`, i, j)))
			}
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
}
