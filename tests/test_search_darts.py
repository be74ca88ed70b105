"""Zero-Cost-PT with topology selection (Algorithm 2) on tiny DARTS supernets."""
import pytest

from zcpt_analysis.runs.specs import SearchSpec
from zcpt_analysis.searches.zcpt import ZeroCostPT
from zcpt_analysis.spaces.genotypes import Genotype


@pytest.mark.parametrize("space, engine", [("darts", "auto"), ("darts-s3", "auto"), ("darts-s4", "simple")])
def test_darts_search_gives_a_genotype_with_two_inputs_per_node(cifar_sample, space, engine):
    cfg = SearchSpec(space=space, N=1, V=1, batch_size=8, device="cpu", engine=engine,
                     supernet_options={"C": 4, "layers": 3}, network_options={"C": 4, "layers": 3})
    run = ZeroCostPT(cfg, progress=False, images=cifar_sample)
    record = run.run()
    it = record.iterations[0]
    assert it.evaluations == 28 * run.supernet.num_ops  # random order: |O| x |E|, E = 14 normal + 14 reduce
    assert len(it.topology["nodes"]) == 8  # 4 intermediate nodes in each of the two cell types
    genotype = run.space.parse(record.selected.arch)
    assert isinstance(genotype, Genotype)
    for cell in (genotype.normal, genotype.reduce):
        assert len(cell) == 8  # two (op, input) pairs per intermediate node
        for node in range(4):
            inputs = [inp for _, inp in cell[2 * node: 2 * node + 2]]
            assert len(set(inputs)) == 2 and all(i < node + 2 for i in inputs)
