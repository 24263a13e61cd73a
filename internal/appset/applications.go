package appset

import (
	"context"
	"errors"
	"fmt"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// Applications generates set's parameter sets and renders the template
// for each: the Applications set stands for, in generator order. Every
// generated Application must have a unique name and live in set's
// namespace.
func (g *Generator) Applications(ctx context.Context, set *argov1.ApplicationSet) ([]*argov1.Application, error) {
	g.Templater = Templater{Go: set.Spec.GoTemplate, Options: set.Spec.GoTemplateOptions}
	patch := ""
	if set.Spec.TemplatePatch != nil {
		if !set.Spec.GoTemplate {
			return nil, errors.New("spec.templatePatch needs spec.goTemplate: true")
		}
		patch = *set.Spec.TemplatePatch
	}
	results, err := g.Generate(ctx, set)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	apps := make([]*argov1.Application, 0, len(results))
	for _, r := range results {
		tmpl, err := MergeTemplate(set.Spec.Template, r.Template)
		if err != nil {
			return nil, fmt.Errorf("merge the generator's template: %w", err)
		}
		app, err := g.Application(tmpl, patch, r.Params)
		if err != nil {
			return nil, err
		}
		switch {
		case app.Name == "":
			return nil, errors.New("a generated Application has no name: set template.metadata.name")
		case seen[app.Name]:
			return nil, fmt.Errorf("ApplicationSet %s contains applications with duplicate name: %s", set.Name, app.Name)
		case app.Namespace != "" && app.Namespace != set.Namespace:
			return nil, fmt.Errorf("Application %s: namespace %s is not the ApplicationSet's (%s)", app.Name, app.Namespace, set.Namespace)
		}
		seen[app.Name] = true
		app.Namespace = set.Namespace
		apps = append(apps, app)
	}
	return apps, nil
}
