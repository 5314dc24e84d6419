package cli

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newConfigSchemaCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print every field of the configuration file (YAML) with its type",
		Long: `Print the schema of the configuration "config export" writes and "config
apply" reads: every field by its YAML name, with its type, nested as in
sections: "config:" first, then each kind of object once ("[]" is a list,
"map" a key: value mapping). Scores take
integers, INFINITY and -INFINITY; durations are Go durations (5s, 1m30s);
roles are Started, Stopped, Promoted or Unpromoted (Master and Slave also
do). docs/configuration.md explains each field.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			writeSchema(s.Out, reflect.TypeOf(api.Config{}))
			return nil
		},
	}
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	scoreType    = reflect.TypeOf(model.Score(0))
)

// writeSchema prints the configuration's type and then every struct type
// it uses, once each, in the order first met: each field by its YAML name
// with its type ("[]rule" refers to the "rule:" section).
func writeSchema(w io.Writer, root reflect.Type) {
	queue := []reflect.Type{root}
	seen := map[reflect.Type]bool{root: true}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		fmt.Fprintf(w, "%s:\n", typeName(t))
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			ft := f.Type
			prefix := ""
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				if ft.Kind() == reflect.Slice {
					prefix += "[]"
				}
				ft = ft.Elem()
			}
			kind := ft.Kind().String()
			switch {
			case ft == durationType:
				kind = "duration"
			case ft == scoreType:
				kind = "score"
			case ft.Kind() == reflect.Map:
				kind = "map of " + ft.Elem().Kind().String()
			case ft.Kind() == reflect.Struct:
				kind = typeName(ft)
				if !seen[ft] {
					seen[ft] = true
					queue = append(queue, ft)
				}
			}
			fmt.Fprintf(w, "  %s: %s%s\n", name, prefix, kind)
		}
	}
}

// typeName is a struct type's section name ("config", "colocation").
func typeName(t reflect.Type) string { return strings.ToLower(t.Name()) }
