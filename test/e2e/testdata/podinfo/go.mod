module example.com/podinfo
