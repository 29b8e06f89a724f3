"""Software prefetch for numba kernels whose random reads are known a few iterations ahead.

A loop that walks a list of nodes and, for each, reads its CSR row and then one array entry per
neighbour waits on a chain of cache misses per node (list -> row start -> row -> entries). Asking
for the next nodes' addresses early lets those misses overlap with the current node's work.
"""

from llvmlite import binding as _llvm
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# the intrinsic is named by its pointer type: "p0" with LLVM's opaque pointers (LLVM >= 15);
# on older LLVM the hint is left out (it never changes results)
_NAME = "llvm.prefetch.p0" if _llvm.llvm_version_info[0] >= 15 else None


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the CPU to bring ``arr[idx]`` into cache (a read; kept in all cache levels). No bounds
    check is needed: a prefetch never faults and never changes results."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        if _NAME is None:
            return context.get_dummy_value()
        aryty, _ = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i32 = ir.IntType(32)
        ptr = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]),
                                            _NAME)
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, high locality, data cache
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def prefetch_neighbours(v, indptr, indices, keyed):
    """Prefetch ``keyed[u]`` for every neighbour u of node v."""
    for e in range(indptr[v], indptr[v + 1]):
        prefetch(keyed, indices[e])


@njit(cache=True, nogil=True, inline="always")
def prefetch_members(members, p, indptr, indices, weights, keyed):
    """Prefetch for a loop over ``members[p]``, ``members[p + 1]``, ... that reads each member's
    row (indices, weights) and ``keyed[neighbour]`` for every entry: the row start 16 members
    ahead, the row 8 ahead and the keyed entries 4 ahead, so each stage finds its own addresses
    already in cache."""
    n = members.shape[0]
    if p + 16 < n:
        prefetch(indptr, members[p + 16])
    if p + 8 < n:
        e0 = indptr[members[p + 8]]
        if e0 < indices.shape[0]:
            prefetch(indices, e0)
            prefetch(weights, e0)
    if p + 4 < n:
        prefetch_neighbours(members[p + 4], indptr, indices, keyed)
