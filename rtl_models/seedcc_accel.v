// seedcc accelerator top level (docs/rtl.md).
//
// Instruction memory (written by the host port), fetch/decode/issue FSM, a 64-bit cycle
// counter, the on-chip SRAMs (act, mask: behavioural byte arrays; param: seedcc_param_sram,
// banks of 64-bit words; acc: NCH banks of seedcc_sram_dp, one per column of the PE array;
// docs/rtl.md "Memories") and
// the execution units: DMA engine, MAC unit (generator lanes + PE array), REQ, ADD and
// pooling units, and the attention units: MATMUL (seedcc_matmul.v), SOFTMAX, LAYERNORM, GELU
// (seedcc_nonlin.v). One instruction executes at a time, beside at most one background DMA
// transfer and one background REQ:
//   ISSUE  1 cycle   read imem[pc], decode, start the unit (or stop at HALT)
//   EXEC   n cycles  the unit runs; its `last` ends the instruction
// so every instruction takes exactly 1 + its execute cycles (the cycle rule of its row in
// the ISA table, backends/isa.py). A DMA transfer, SYNC and HALT first wait in ISSUE until
// the engine's transfer in flight is in its last cycle, and a REQ, SETGEN, SETFRZ,
// LAYERNORM, SYNC and HALT until the REQ unit's work in flight is in its last cycle
// (SETGEN, SETFRZ and LAYERNORM read the param SRAM's read port, which the REQ unit's
// records use); a background transfer (field
// `background`) has no EXEC: the engine runs it while the next instructions issue
// (backends/timing.py, docs/isa.md "Background units"). `cycles` at `done` equals the
// reference model's count, HALT's issue cycle included.
// LOOP (issue cycle only) makes the next body_len instructions run `iterations` times: the
// sequencer keeps the body's first and last pc, the iteration and the DRAM offset
// (iteration * dram_stride, added to every param-space DMA_LOAD's dram_addr); the jump from
// the body's last instruction back to its first costs no cycle (the next pc is chosen in
// the issue cycle). A LOOP or HALT inside a running body stops with `err` = 1.
// An illegal word (unknown opcode, a bit outside its fields, a field outside its valid
// range) stops with `err` = 1 after its issue cycle; so does a REQ (or LAYERNORM) whose
// record has a shift above SHIFT_MAX, in the cycle it reads that record.
// Widths come from the generated headers isa.vh (fields) and hwfacts.vh (hardware facts);
// non-ANSI ports so that the port widths can use them.
module seedcc_accel #(
  parameter integer LANES = 2,
  parameter integer PIXELS = 4,
  parameter integer ACT_BYTES = 65536,
  parameter integer MASK_BYTES = 32768,
  parameter integer PARAM_BYTES = 8192,
  parameter integer ACC_WORDS = 16384,
  parameter integer INSTR_WORDS = 1024,
  parameter integer BUS_BYTES = 8,
  parameter integer DMA_LATENCY = 4
) (
  clk,
  rst_n,
  start,
  done,
  err,
  busy,
  cycles,
  pc,
  host_imem_we,
  host_imem_addr,
  host_imem_wdata,
  dram_rd_req,
  dram_rd_addr,
  dram_rd_valid,
  dram_rd_data,
  dram_wr_req,
  dram_wr_addr,
  dram_wr_data,
  dram_wr_be
);
`include "isa.vh"
`include "hwfacts.vh"
  input  wire                       clk;
  input  wire                       rst_n;
  input  wire                       start;        // pulse: run from pc 0
  output reg                        done;         // level: stopped (HALT or error) since the last start
  output reg                        err;
  output reg                        busy;
  output reg  [63:0]                cycles;
  output reg  [31:0]                pc;
  // host port: write the instruction memory
  input  wire                       host_imem_we;
  input  wire [31:0]                host_imem_addr;
  input  wire [ISA_WORD_BITS-1:0]   host_imem_wdata;
  // off-chip memory (byte addressed, BUS_BYTES a beat, reads answered DMA_LATENCY later)
  output wire                       dram_rd_req;
  output wire [F_DRAM_ADDR_W-1:0]   dram_rd_addr;
  input  wire                       dram_rd_valid;
  input  wire [BUS_BYTES*8-1:0]     dram_rd_data;
  output wire                       dram_wr_req;
  output wire [F_DRAM_ADDR_W-1:0]   dram_wr_addr;
  output wire [BUS_BYTES*8-1:0]     dram_wr_data;
  output wire [BUS_BYTES-1:0]       dram_wr_be;

  localparam integer NCH = GROUP * LANES;
  localparam integer NPE = NCH * PIXELS;
  localparam integer NPIX = PIXELS * LANES;
  localparam integer MROW = MASK_ROW_LANE_BYTES * LANES;
  localparam integer COL_W = (NCH > 1) ? $clog2(NCH) : 1;     // a column (bank) of the acc SRAM
  localparam integer LANE_W = (PIXELS > 1) ? $clog2(PIXELS) : 1;  // a word of a bank's row

  // ---- memories -------------------------------------------------------------------------
  reg [ISA_WORD_BITS-1:0] imem      [0:INSTR_WORDS-1];
  reg [ACT_BITS-1:0]      act_mem   [0:ACT_BYTES-1];
  reg [7:0]               mask_mem  [0:MASK_BYTES-1];

  // Addresses wrap at the memory size (sizes are powers of two in every HwConfig we build).
  // The index arithmetic is XA_W bits wide; zx_byte widens a byte address to it.
  localparam integer XA_W = 32;
  function integer act_ix(input [XA_W-1:0] a);   act_ix = a % ACT_BYTES;     endfunction
  function integer mask_ix(input [XA_W-1:0] a);  mask_ix = a % MASK_BYTES;   endfunction
  function [XA_W-1:0] zx_byte(input [F_SRAM_ADDR_W-1:0] a);
    zx_byte = {{(XA_W-F_SRAM_ADDR_W){1'b0}}, a};
  endfunction

  // ---- fetch / decode -------------------------------------------------------------------
  wire [ISA_WORD_BITS-1:0] ir = imem[pc % INSTR_WORDS];
  wire [ISA_OPCODE_BITS-1:0] opcode;
  wire illegal;
  // `illegal` already covers an unknown opcode; the decoder's `known` is for the block tests.
  /* verilator lint_off UNUSEDSIGNAL */
  wire known;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [F_SPACE_W-1:0] f_space;
  wire [F_SRAM_ADDR_W-1:0] f_sram_addr;
  wire [F_DRAM_ADDR_W-1:0] f_dram_addr;
  wire [F_LENGTH_W-1:0] f_length;
  wire [F_BACKGROUND_W-1:0] f_background;
  wire [F_GEN_ID_W-1:0] f_gen_id;
  wire [F_PARAM_ADDR_W-1:0] f_param_addr;
  wire [F_COUNT_W-1:0] f_count;
  wire [F_IN_ADDR_W-1:0] f_in_addr;
  wire [F_ACC_ROW_W-1:0] f_acc_row;
  wire [F_IN_C_W-1:0] f_in_c;
  wire [F_IN_H_W-1:0] f_in_h;
  wire [F_IN_W_W-1:0] f_in_w;
  wire [F_OUT_W_W-1:0] f_out_w;
  wire [F_OUT_H_W-1:0] f_out_h;
  wire [F_KH_W-1:0] f_kh;
  wire [F_KW_W-1:0] f_kw;
  wire [F_STRIDE_H_W-1:0] f_stride_h;
  wire [F_STRIDE_W_W-1:0] f_stride_w;
  wire [F_PAD_T_W-1:0] f_pad_t;
  wire [F_PAD_L_W-1:0] f_pad_l;
  wire [F_OC_COUNT_W-1:0] f_oc_count;
  wire [F_START_OY_W-1:0] f_start_oy;
  wire [F_START_OX_W-1:0] f_start_ox;
  wire [F_PIX_COUNT_W-1:0] f_pix_count;
  wire [F_MASK_ADDR_W-1:0] f_mask_addr;
  wire [F_CODE_BITS_W-1:0] f_code_bits;
  wire [F_STORED_SIGNS_W-1:0] f_stored_signs;
  wire [F_ACCUMULATE_W-1:0] f_accumulate;
  wire [F_OUT_ADDR_W-1:0] f_out_addr;
  wire [F_OUT_PLANE_W-1:0] f_out_plane;
  wire [F_RELU_W-1:0] f_relu;
  wire [F_A_ADDR_W-1:0] f_a_addr;
  wire [F_B_ADDR_W-1:0] f_b_addr;
  wire signed [F_MULT_A_W-1:0] f_mult_a;
  wire signed [F_MULT_B_W-1:0] f_mult_b;
  wire signed [F_MULT_W-1:0] f_mult;
  wire [F_ITERATIONS_W-1:0] f_iterations;
  wire [F_BODY_LEN_W-1:0] f_body_len;
  wire [F_DRAM_STRIDE_W-1:0] f_dram_stride;
  wire [F_SHIFT_W-1:0] f_shift;
  wire [F_CHANNELS_W-1:0] f_channels;
  wire [F_FROZEN_W-1:0] f_frozen;
  wire [F_MASK_BIT_W-1:0] f_mask_bit;
  wire [F_REP_LOG2_W-1:0] f_rep_log2;
  wire [F_PRUNE_THR_W-1:0] f_prune_thr;
  wire [F_LOCK_THR_W-1:0] f_lock_thr;
  wire [F_LOCK_CODE_W-1:0] f_lock_code;
  wire [F_X_ADDR_W-1:0] f_x_addr;
  wire [F_X_ROW_W-1:0] f_x_row;
  wire [F_X_STEP_W-1:0] f_x_step;
  wire [F_Y_ADDR_W-1:0] f_y_addr;
  wire [F_Y_STEP_W-1:0] f_y_step;
  wire [F_ROWS_W-1:0] f_rows;
  wire [F_COLS_W-1:0] f_cols;
  wire [F_DEPTH_W-1:0] f_depth;
  wire [F_X_UNSIGNED_W-1:0] f_x_unsigned;
  wire [F_Y_UNSIGNED_W-1:0] f_y_unsigned;
  wire [F_OUT_UNSIGNED_W-1:0] f_out_unsigned;
  wire [F_OUT_WIDE_W-1:0]     f_out_wide;
  wire [F_A_UNSIGNED_W-1:0] f_a_unsigned;
  wire [F_B_UNSIGNED_W-1:0] f_b_unsigned;
  wire [F_IN_UNSIGNED_W-1:0] f_in_unsigned;
  wire [F_TOKENS_W-1:0] f_tokens;
  wire [F_FEATURES_W-1:0] f_features;
  wire [F_IN_PLANE_W-1:0] f_in_plane;
  wire [F_IN_MULT_W-1:0] f_in_mult;
  wire [F_IN_SHIFT_W-1:0] f_in_shift;
  wire [F_EPS_W-1:0] f_eps;
  wire signed [F_OUT_MULT_W-1:0] f_out_mult;
  wire [F_OUT_SHIFT_W-1:0] f_out_shift;
  wire [F_IN_NODES_W-1:0] f_in_nodes;
  wire [F_ROW_COUNT_W-1:0] f_row_count;
  wire [F_NNZ_W-1:0] f_nnz;
  wire [F_CSR_ADDR_W-1:0] f_csr_addr;

  seedcc_decode u_dec (
    .word(ir), .opcode(opcode), .known(known), .illegal(illegal),
    .f_space(f_space), .f_sram_addr(f_sram_addr), .f_dram_addr(f_dram_addr),
    .f_length(f_length), .f_background(f_background), .f_gen_id(f_gen_id), .f_param_addr(f_param_addr),
    .f_count(f_count), .f_in_addr(f_in_addr), .f_acc_row(f_acc_row), .f_in_c(f_in_c),
    .f_in_h(f_in_h), .f_in_w(f_in_w), .f_out_w(f_out_w), .f_kh(f_kh), .f_kw(f_kw),
    .f_stride_h(f_stride_h), .f_stride_w(f_stride_w), .f_pad_t(f_pad_t), .f_pad_l(f_pad_l),
    .f_oc_count(f_oc_count), .f_start_oy(f_start_oy), .f_start_ox(f_start_ox),
    .f_pix_count(f_pix_count),
    .f_mask_addr(f_mask_addr), .f_code_bits(f_code_bits), .f_stored_signs(f_stored_signs),
    .f_accumulate(f_accumulate), .f_out_addr(f_out_addr), .f_out_plane(f_out_plane),
    .f_relu(f_relu), .f_a_addr(f_a_addr), .f_b_addr(f_b_addr), .f_mult_a(f_mult_a),
    .f_mult_b(f_mult_b), .f_shift(f_shift), .f_channels(f_channels), .f_out_h(f_out_h),
    .f_mult(f_mult), .f_iterations(f_iterations), .f_body_len(f_body_len), .f_dram_stride(f_dram_stride),
    .f_frozen(f_frozen), .f_mask_bit(f_mask_bit), .f_rep_log2(f_rep_log2), .f_prune_thr(f_prune_thr), .f_lock_thr(f_lock_thr),
    .f_lock_code(f_lock_code),
    .f_x_addr(f_x_addr), .f_x_row(f_x_row), .f_x_step(f_x_step), .f_y_addr(f_y_addr), .f_y_step(f_y_step), .f_rows(f_rows), .f_cols(f_cols), .f_depth(f_depth), .f_x_unsigned(f_x_unsigned), .f_y_unsigned(f_y_unsigned), .f_tokens(f_tokens), .f_features(f_features), .f_in_plane(f_in_plane), .f_in_mult(f_in_mult), .f_in_shift(f_in_shift), .f_eps(f_eps), .f_out_mult(f_out_mult), .f_out_shift(f_out_shift),
    .f_in_nodes(f_in_nodes), .f_row_count(f_row_count), .f_nnz(f_nnz),
    .f_csr_addr(f_csr_addr), .f_out_unsigned(f_out_unsigned), .f_out_wide(f_out_wide), .f_a_unsigned(f_a_unsigned),
    .f_b_unsigned(f_b_unsigned), .f_in_unsigned(f_in_unsigned)
  );

  // Instructions whose execute-cycle count is 0 go straight to the next issue.
  reg no_exec;
  always @* begin
    case (opcode)
      OP_SETGEN:  no_exec = ~|f_count;
      OP_SETFRZ:  no_exec = ~|f_channels;
      OP_MAC:     no_exec = ~|f_pix_count;
      OP_REQ:     no_exec = ~|f_oc_count || ~|f_pix_count || f_background;
      OP_ADD:     no_exec = ~|f_length;
      OP_MAXPOOL, OP_AVGPOOL:
                  no_exec = ~|f_channels || ~|f_out_h || ~|f_out_w;
      OP_LOOP:    no_exec = 1'b1;
      OP_MATMUL:  no_exec = ~|f_rows || ~|f_cols;
      OP_SOFTMAX, OP_LAYERNORM:
                  no_exec = ~|f_tokens;
      OP_GELU:    no_exec = ~|f_length;
      OP_AGG:     no_exec = ~|f_features || (~|f_row_count && ~|f_nnz);
      OP_SYNC:    no_exec = 1'b1;
      default:    no_exec = f_background;  // DMA: DMA_LATENCY >= 1 cycles, in the background or not
    endcase
  end

  localparam [1:0] S_IDLE = 2'd0, S_ISSUE = 2'd1, S_EXEC = 2'd2;
  reg [1:0] st;
  // Work of the DMA engine and of the REQ unit issues no earlier than the last cycle of the
  // unit's work in flight, SYNC and HALT no earlier than the last cycle of both units'
  // (docs/isa.md "Background units"); until then the issue stage waits. SETGEN, SETFRZ and
  // LAYERNORM wait for the REQ unit too (isa.py `waits_for`): they read the param SRAM
  // through its read port, which a background REQ holds until its last cycle.
  wire is_dma = (opcode == OP_DMA_LOAD || opcode == OP_DMA_STORE);
  wire is_req = (opcode == OP_REQ);
  wire drains = (opcode == OP_SYNC || opcode == OP_HALT);
  wire reads_param = (opcode == OP_SETGEN || opcode == OP_SETFRZ || opcode == OP_LAYERNORM);
  wire dma_active, last_dma, req_active, last_req;
  wire dma_busy = dma_active && !last_dma;
  wire req_busy = req_active && !last_req;
  wire eng_wait = ((is_dma || drains) && dma_busy) || ((is_req || drains || reads_param) && req_busy);
  wire issue = (st == S_ISSUE) && !illegal && !eng_wait;
  wire go = issue && !no_exec;
  // background work starts without an EXEC state
  wire start_dma = issue && is_dma;
  wire start_req = issue && is_req && |f_oc_count && |f_pix_count;
  reg x_dma, x_req;  // the instruction in EXEC is a (foreground) DMA transfer / REQ
  wire start_setgen = go && (opcode == OP_SETGEN);
  wire start_setfrz = go && (opcode == OP_SETFRZ);
  wire start_mac = go && (opcode == OP_MAC);
  wire start_add = go && (opcode == OP_ADD);
  wire start_pool = go && (opcode == OP_MAXPOOL || opcode == OP_AVGPOOL);
  wire start_matmul = go && (opcode == OP_MATMUL);
  wire start_softmax = go && (opcode == OP_SOFTMAX);
  wire start_layernorm = go && (opcode == OP_LAYERNORM);
  wire start_gelu = go && (opcode == OP_GELU);
  wire start_agg = go && (opcode == OP_AGG);
  wire last_mac, last_add, last_pool, last_agg;
  wire last_matmul, last_softmax, last_layernorm, last_gelu;
  wire unit_last = (last_dma && x_dma) | last_mac | (last_req && x_req) | last_add | last_pool | last_agg
                 | last_matmul | last_softmax | last_layernorm | last_gelu;
  wire req_err;  // REQ read a record with shift > SHIFT_MAX
  wire ln_err;   // LAYERNORM read a record with shift > SHIFT_MAX
  wire agg_err;  // AGG read a bad adjacency chunk
  wire unit_err = req_err | ln_err | agg_err;

  // Hardware loop state (one level: loops do not nest).
  reg        lp_active;
  reg [31:0] lp_first, lp_last;   // pc of the body's first and last instruction
  reg [F_ITERATIONS_W-1:0] lp_count, lp_it;
  reg [F_DRAM_STRIDE_W-1:0] lp_stride;
  reg [F_DRAM_ADDR_W-1:0] lp_offset;  // lp_it * lp_stride
  reg [31:0] ipc;  // pc of the instruction in execution
  wire lp_bad = lp_active && (opcode == OP_LOOP || opcode == OP_HALT);
  wire lp_wrap = lp_active && (pc == lp_last) && (lp_it + 1'b1 < lp_count);
  wire [F_DRAM_ADDR_W-1:0] dma_dram_addr = f_dram_addr +
      ((lp_active && opcode == OP_DMA_LOAD && f_space == SPACE_PARAM) ? lp_offset : {F_DRAM_ADDR_W{1'b0}});

  always @(posedge clk) begin
    if (!rst_n) begin
      st <= S_IDLE;
      done <= 1'b0;
      err <= 1'b0;
      busy <= 1'b0;
      cycles <= 64'd0;
      pc <= 32'd0;
      ipc <= 32'd0;
      lp_active <= 1'b0;
      lp_first <= 32'd0;
      lp_last <= 32'd0;
      lp_count <= {F_ITERATIONS_W{1'b0}};
      lp_it <= {F_ITERATIONS_W{1'b0}};
      lp_stride <= {F_DRAM_STRIDE_W{1'b0}};
      lp_offset <= {F_DRAM_ADDR_W{1'b0}};
      x_dma <= 1'b0;
      x_req <= 1'b0;
    end else begin
      case (st)
        S_IDLE: if (start) begin
          st <= S_ISSUE;
          done <= 1'b0;
          err <= 1'b0;
          busy <= 1'b1;
          cycles <= 64'd0;
          pc <= 32'd0;
          lp_active <= 1'b0;
        end
        S_ISSUE: if (req_err) begin  // a background REQ read a bad record: stop on it
          st <= S_IDLE;
          done <= 1'b1;
          busy <= 1'b0;
          err <= 1'b1;
        end else if (eng_wait && !illegal) begin
          cycles <= cycles + 64'd1;  // waiting for a unit
        end else begin
          cycles <= cycles + 64'd1;
          x_dma <= is_dma && !no_exec;
          x_req <= is_req && !no_exec;
          ipc <= pc;
          pc <= lp_wrap ? lp_first : pc + 32'd1;
          if (illegal || opcode == OP_HALT || lp_bad) begin
            st <= S_IDLE;
            done <= 1'b1;
            busy <= 1'b0;
            err <= illegal || lp_bad;
            pc <= pc;
            lp_active <= 1'b0;
          end else begin
            if (opcode == OP_LOOP) begin
              lp_active <= 1'b1;
              lp_first <= pc + 32'd1;
              lp_last <= pc + {{(32-F_BODY_LEN_W){1'b0}}, f_body_len};
              lp_count <= f_iterations;
              lp_it <= {F_ITERATIONS_W{1'b0}};
              lp_stride <= f_dram_stride;
              lp_offset <= {F_DRAM_ADDR_W{1'b0}};
            end else if (lp_active && pc == lp_last) begin
              if (lp_wrap) begin
                lp_it <= lp_it + 1'b1;
                lp_offset <= lp_offset + lp_stride;
              end else begin
                lp_active <= 1'b0;
              end
            end
            if (!no_exec) st <= S_EXEC;
          end
        end
        S_EXEC: begin
          cycles <= cycles + 64'd1;
          if (unit_err) begin  // stop on the failing instruction, like an illegal word
            st <= S_IDLE;
            done <= 1'b1;
            busy <= 1'b0;
            err <= 1'b1;
            pc <= ipc;
          end else if (unit_last) begin
            st <= S_ISSUE;
          end
        end
        default: st <= S_IDLE;
      endcase
    end
  end

  // ---- DMA ------------------------------------------------------------------------------
  wire [F_SPACE_W-1:0]     dma_space;
  wire                     dma_rd;
  wire [F_SRAM_ADDR_W-1:0] dma_rd_addr, dma_wr_addr;
  wire [BUS_BYTES*8-1:0]   dma_rd_data;
  wire                     dma_wr;
  wire [BUS_BYTES-1:0]     dma_wr_be;
  wire [BUS_BYTES*8-1:0]   dma_wr_data;
  seedcc_dma #(.BUS_BYTES(BUS_BYTES), .DMA_LATENCY(DMA_LATENCY)) u_dma (
    .clk(clk), .rst_n(rst_n), .start(start_dma), .is_store(opcode == OP_DMA_STORE),
    .f_space(f_space), .f_sram_addr(f_sram_addr), .f_dram_addr(dma_dram_addr), .f_length(f_length),
    .last(last_dma), .active(dma_active), .space(dma_space),
    .sram_rd(dma_rd), .sram_rd_addr(dma_rd_addr), .sram_rd_data(dma_rd_data),
    .sram_wr(dma_wr), .sram_wr_addr(dma_wr_addr), .sram_wr_be(dma_wr_be), .sram_wr_data(dma_wr_data),
    .dram_rd_req(dram_rd_req), .dram_rd_addr(dram_rd_addr), .dram_rd_valid(dram_rd_valid),
    .dram_rd_data(dram_rd_data), .dram_wr_req(dram_wr_req), .dram_wr_addr(dram_wr_addr),
    .dram_wr_data(dram_wr_data), .dram_wr_be(dram_wr_be)
  );
  // Combinational SRAM reads are continuous assignments in generate loops (an always @*
  // over a large array makes Icarus elaborate a sensitivity to every word).
  genvar gi;
  // The engine reads like from an SRAM macro (the beat the cycle after the address): the
  // param SRAM is one, the act and mask arrays' reads are registered here.
  wire [BUS_BYTES*8-1:0] dma_am_rd, param_a_rd;
  reg  [BUS_BYTES*8-1:0] dma_am_q;
  always @(posedge clk) if (dma_rd) dma_am_q <= dma_am_rd;
  assign dma_rd_data = (dma_space == SPACE_PARAM) ? param_a_rd : dma_am_q;
  generate
    for (gi = 0; gi < BUS_BYTES; gi = gi + 1) begin : dma_rd_am
      assign dma_am_rd[gi*8 +: 8] =
        (dma_space == SPACE_ACT)  ? act_mem[act_ix(zx_byte(dma_rd_addr) + gi)] :
        (dma_space == SPACE_MASK) ? mask_mem[mask_ix(zx_byte(dma_rd_addr) + gi)] : 8'd0;
    end
  endgenerate

  // ---- MAC unit (lanes, PE array; also SETGEN) ------------------------------------------
  wire                          mac_param_rd;
  wire [F_PARAM_ADDR_W-1:0]     mac_param_addr;
  wire [LANE_STATE_BITS-1:0]    mac_param_data;
  wire [F_MASK_ADDR_W-1:0]      mac_mask_addr;
  wire [MROW*8-1:0]             mac_mask_data;
  wire [NPIX*F_IN_ADDR_W-1:0]   mac_act_addr;   // PIXELS a copy of the lanes in use
  wire [NPIX*ACT_BITS-1:0]      mac_act_data;
  wire [F_ACC_ROW_W-1:0]        mac_acc_row;
  wire                          mac_acc_rd_en;
  wire [NPE*ACC_BITS-1:0]       mac_acc_rd;
  wire [NPE-1:0]                mac_acc_we;
  wire [NPE*ACC_BITS-1:0]       mac_acc_wd;
  seedcc_mac #(.LANES(LANES), .PIXELS(PIXELS)) u_mac (
    .clk(clk), .rst_n(rst_n), .start_mac(start_mac), .start_setgen(start_setgen),
    .start_setfrz(start_setfrz),
    .f_gen_id(f_gen_id), .f_param_addr(f_param_addr), .f_count(f_count),
    .f_in_addr(f_in_addr), .f_acc_row(f_acc_row), .f_in_c(f_in_c), .f_in_h(f_in_h),
    .f_in_w(f_in_w), .f_out_w(f_out_w), .f_kh(f_kh), .f_kw(f_kw), .f_stride_h(f_stride_h),
    .f_stride_w(f_stride_w), .f_pad_t(f_pad_t), .f_pad_l(f_pad_l), .f_oc_count(f_oc_count),
    .f_start_oy(f_start_oy), .f_start_ox(f_start_ox), .f_pix_count(f_pix_count),
    .f_mask_addr(f_mask_addr),
    .f_code_bits(f_code_bits), .f_stored_signs(f_stored_signs), .f_accumulate(f_accumulate),
    .f_frozen(f_frozen), .f_mask_bit(f_mask_bit), .f_rep_log2(f_rep_log2), .f_x_unsigned(f_x_unsigned), .f_channels(f_channels), .f_prune_thr(f_prune_thr),
    .f_lock_thr(f_lock_thr), .f_lock_code(f_lock_code),
    .last(last_mac),
    .param_rd(mac_param_rd), .param_rd_addr(mac_param_addr), .param_rd_data(mac_param_data),
    .mask_rd_addr(mac_mask_addr), .mask_rd_data(mac_mask_data),
    .act_rd_addr(mac_act_addr), .act_rd_data(mac_act_data),
    .acc_row(mac_acc_row), .acc_rd(mac_acc_rd_en), .acc_rd_data(mac_acc_rd), .acc_wr_en(mac_acc_we),
    .acc_wr_data(mac_acc_wd)
  );
  generate
    for (gi = 0; gi < MROW; gi = gi + 1) begin : mac_msk
      assign mac_mask_data[gi*8 +: 8] = mask_mem[mask_ix(zx_byte(mac_mask_addr) + gi)];
    end
    for (gi = 0; gi < NPIX; gi = gi + 1) begin : mac_act
      assign mac_act_data[gi*ACT_BITS +: ACT_BITS] =
        act_mem[act_ix(zx_byte(mac_act_addr[gi*F_IN_ADDR_W +: F_IN_ADDR_W]))];
    end
  endgenerate

  // ---- REQ ------------------------------------------------------------------------------
  wire                          req_acc_rd;
  wire [F_ACC_ROW_W-1:0]        req_acc_row;
  wire [COL_W-1:0]              req_acc_col;
  wire [PIXELS*ACC_BITS-1:0]    req_acc_data;
  wire                          req_param_rd;
  wire [F_PARAM_ADDR_W-1:0]     req_param_addr;
  wire [REQ_RECORD_BYTES*8-1:0] req_param_data;
  wire                          req_wr;
  wire [F_OUT_ADDR_W-1:0]       req_wr_addr;
  wire [PIXELS-1:0]             req_wr_be;
  wire [PIXELS*ACT_BITS-1:0]    req_wr_data;
  seedcc_req #(.LANES(LANES), .PIXELS(PIXELS)) u_req (
    .clk(clk), .rst_n(rst_n), .start(start_req),
    .f_acc_row(f_acc_row), .f_out_addr(f_out_addr), .f_oc_count(f_oc_count),
    .f_pix_count(f_pix_count), .f_out_plane(f_out_plane), .f_param_addr(f_param_addr),
    .f_relu(f_relu), .f_rep_log2(f_rep_log2), .f_out_unsigned(f_out_unsigned),
    .f_out_wide(f_out_wide), .last(last_req),
    .active(req_active), .err(req_err),
    .acc_rd(req_acc_rd), .acc_rd_row(req_acc_row), .acc_rd_col(req_acc_col), .acc_rd_data(req_acc_data),
    .param_rd(req_param_rd), .param_rd_addr(req_param_addr), .param_rd_data(req_param_data),
    .act_wr(req_wr), .act_wr_addr(req_wr_addr), .act_wr_be(req_wr_be), .act_wr_data(req_wr_data)
  );

  // ---- ADD ------------------------------------------------------------------------------
  wire [F_A_ADDR_W-1:0]      add_a_addr;
  wire [F_B_ADDR_W-1:0]      add_b_addr;
  wire [PIXELS*ACT_BITS-1:0] add_a_data, add_b_data;
  wire                       add_wr;
  wire [F_OUT_ADDR_W-1:0]    add_wr_addr;
  wire [PIXELS-1:0]          add_wr_be;
  wire [PIXELS*ACT_BITS-1:0] add_wr_data;
  seedcc_add #(.PIXELS(PIXELS)) u_add (
    .clk(clk), .rst_n(rst_n), .start(start_add),
    .f_a_addr(f_a_addr), .f_b_addr(f_b_addr), .f_out_addr(f_out_addr), .f_length(f_length),
    .f_mult_a(f_mult_a), .f_mult_b(f_mult_b), .f_shift(f_shift), .f_relu(f_relu),
    .f_a_unsigned(f_a_unsigned), .f_b_unsigned(f_b_unsigned), .f_out_unsigned(f_out_unsigned),
    .last(last_add),
    .a_rd_addr(add_a_addr), .a_rd_data(add_a_data), .b_rd_addr(add_b_addr), .b_rd_data(add_b_data),
    .act_wr(add_wr), .act_wr_addr(add_wr_addr), .act_wr_be(add_wr_be), .act_wr_data(add_wr_data)
  );
  generate
    for (gi = 0; gi < PIXELS; gi = gi + 1) begin : add_rd
      assign add_a_data[gi*ACT_BITS +: ACT_BITS] = act_mem[act_ix(zx_byte(add_a_addr) + gi)];
      assign add_b_data[gi*ACT_BITS +: ACT_BITS] = act_mem[act_ix(zx_byte(add_b_addr) + gi)];
    end
  endgenerate

  // ---- MAXPOOL / AVGPOOL ----------------------------------------------------------------
  wire [PIXELS*F_IN_ADDR_W-1:0] pool_rd_addr;
  wire [PIXELS*ACT_BITS-1:0]    pool_rd_data;
  wire                          pool_wr;
  wire [F_OUT_ADDR_W-1:0]       pool_wr_addr;
  wire [PIXELS-1:0]             pool_wr_be;
  wire [PIXELS*ACT_BITS-1:0]    pool_wr_data;
  seedcc_pool #(.PIXELS(PIXELS)) u_pool (
    .clk(clk), .rst_n(rst_n), .start(start_pool), .is_avg(opcode == OP_AVGPOOL),
    .f_in_addr(f_in_addr), .f_out_addr(f_out_addr), .f_channels(f_channels),
    .f_in_h(f_in_h), .f_in_w(f_in_w), .f_out_h(f_out_h), .f_out_w(f_out_w),
    .f_kh(f_kh), .f_kw(f_kw), .f_stride_h(f_stride_h), .f_stride_w(f_stride_w),
    .f_pad_t(f_pad_t), .f_pad_l(f_pad_l), .f_mult(f_mult), .f_shift(f_shift),
    .f_in_unsigned(f_in_unsigned),
    .last(last_pool),
    .act_rd_addr(pool_rd_addr), .act_rd_data(pool_rd_data),
    .act_wr(pool_wr), .act_wr_addr(pool_wr_addr), .act_wr_be(pool_wr_be), .act_wr_data(pool_wr_data)
  );
  generate
    for (gi = 0; gi < PIXELS; gi = gi + 1) begin : pool_rd
      assign pool_rd_data[gi*ACT_BITS +: ACT_BITS] =
        act_mem[act_ix(zx_byte(pool_rd_addr[gi*F_IN_ADDR_W +: F_IN_ADDR_W]))];
    end
  endgenerate

  // ---- MATMUL (seedcc_matmul.v) ---------------------------------------------------------
  wire [MM_ROWS*F_X_ADDR_W-1:0] mm_x_addr;
  wire [MM_ROWS*ACT_BITS-1:0]   mm_x_data;
  wire [F_Y_ADDR_W-1:0]         mm_y_addr;
  wire [PIXELS*ACT_BITS-1:0]    mm_y_data;
  wire                          mm_wr;
  wire [F_OUT_ADDR_W-1:0]       mm_wr_addr;
  wire [PIXELS-1:0]             mm_wr_be;
  wire [PIXELS*ACT_BITS-1:0]    mm_wr_data;
  seedcc_matmul #(.PIXELS(PIXELS)) u_matmul (
    .clk(clk), .rst_n(rst_n), .start(start_matmul),
    .f_x_addr(f_x_addr), .f_x_row(f_x_row), .f_x_step(f_x_step), .f_y_addr(f_y_addr),
    .f_y_step(f_y_step), .f_out_addr(f_out_addr), .f_out_plane(f_out_plane), .f_rows(f_rows),
    .f_cols(f_cols), .f_depth(f_depth), .f_mult(f_mult), .f_shift(f_shift),
    .f_x_unsigned(f_x_unsigned), .f_y_unsigned(f_y_unsigned), .last(last_matmul),
    .x_rd_addr(mm_x_addr), .x_rd_data(mm_x_data), .y_rd_addr(mm_y_addr), .y_rd_data(mm_y_data),
    .act_wr(mm_wr), .act_wr_addr(mm_wr_addr), .act_wr_be(mm_wr_be), .act_wr_data(mm_wr_data)
  );
  generate
    for (gi = 0; gi < MM_ROWS; gi = gi + 1) begin : mm_x
      assign mm_x_data[gi*ACT_BITS +: ACT_BITS] =
        act_mem[act_ix(zx_byte(mm_x_addr[gi*F_X_ADDR_W +: F_X_ADDR_W]))];
    end
    for (gi = 0; gi < PIXELS; gi = gi + 1) begin : mm_y
      assign mm_y_data[gi*ACT_BITS +: ACT_BITS] = act_mem[act_ix(zx_byte(mm_y_addr) + gi)];
    end
  endgenerate

  // ---- SOFTMAX, LAYERNORM, GELU (seedcc_nonlin.v) ---------------------------------------
  wire [F_IN_ADDR_W-1:0]     sm_rd_addr, ln_rd_addr, gl_rd_addr;
  wire [PIXELS*ACT_BITS-1:0] sm_rd_data, ln_rd_data, gl_rd_data;
  wire                       sm_wr, ln_wr, gl_wr;
  wire [F_OUT_ADDR_W-1:0]    sm_wr_addr, ln_wr_addr, gl_wr_addr;
  wire [PIXELS-1:0]          sm_wr_be, ln_wr_be, gl_wr_be;
  wire [PIXELS*ACT_BITS-1:0] sm_wr_data, ln_wr_data, gl_wr_data;
  wire                          ln_param_rd;
  wire [F_PARAM_ADDR_W-1:0]     ln_param_addr;
  wire [REQ_RECORD_BYTES*8-1:0] ln_param_data;
  seedcc_softmax #(.PIXELS(PIXELS)) u_softmax (
    .clk(clk), .rst_n(rst_n), .start(start_softmax),
    .f_in_addr(f_in_addr), .f_out_addr(f_out_addr), .f_tokens(f_tokens), .f_features(f_features),
    .f_in_plane(f_in_plane), .f_out_plane(f_out_plane), .f_in_mult(f_in_mult),
    .f_in_shift(f_in_shift), .last(last_softmax),
    .act_rd_addr(sm_rd_addr), .act_rd_data(sm_rd_data),
    .act_wr(sm_wr), .act_wr_addr(sm_wr_addr), .act_wr_be(sm_wr_be), .act_wr_data(sm_wr_data)
  );
  seedcc_layernorm #(.PIXELS(PIXELS)) u_layernorm (
    .clk(clk), .rst_n(rst_n), .start(start_layernorm),
    .f_in_addr(f_in_addr), .f_out_addr(f_out_addr), .f_tokens(f_tokens), .f_features(f_features),
    .f_in_plane(f_in_plane), .f_out_plane(f_out_plane), .f_param_addr(f_param_addr),
    .f_eps(f_eps), .last(last_layernorm), .err(ln_err),
    .act_rd_addr(ln_rd_addr), .act_rd_data(ln_rd_data),
    .param_rd(ln_param_rd), .param_rd_addr(ln_param_addr), .param_rd_data(ln_param_data),
    .act_wr(ln_wr), .act_wr_addr(ln_wr_addr), .act_wr_be(ln_wr_be), .act_wr_data(ln_wr_data)
  );
  seedcc_gelu #(.PIXELS(PIXELS)) u_gelu (
    .clk(clk), .rst_n(rst_n), .start(start_gelu),
    .f_in_addr(f_in_addr), .f_out_addr(f_out_addr), .f_length(f_length), .f_in_mult(f_in_mult),
    .f_in_shift(f_in_shift), .f_out_mult(f_out_mult), .f_out_shift(f_out_shift),
    .last(last_gelu), .act_rd_addr(gl_rd_addr), .act_rd_data(gl_rd_data),
    .act_wr(gl_wr), .act_wr_addr(gl_wr_addr), .act_wr_be(gl_wr_be), .act_wr_data(gl_wr_data)
  );
  generate
    for (gi = 0; gi < PIXELS; gi = gi + 1) begin : nl_rd
      assign sm_rd_data[gi*ACT_BITS +: ACT_BITS] = act_mem[act_ix(zx_byte(sm_rd_addr) + gi)];
      assign ln_rd_data[gi*ACT_BITS +: ACT_BITS] = act_mem[act_ix(zx_byte(ln_rd_addr) + gi)];
      assign gl_rd_data[gi*ACT_BITS +: ACT_BITS] = act_mem[act_ix(zx_byte(gl_rd_addr) + gi)];
    end
  endgenerate

  // ---- AGG (seedcc_agg.v) ----------------------------------------------------------------
  wire [XA_W-1:0]               agg_mask_addr;
  wire [CSR_ENTRY_BYTES*8-1:0]  agg_mask_data;
  wire [PIXELS*XA_W-1:0]        agg_act_addr;
  wire [PIXELS*ACT_BITS-1:0]    agg_act_data;
  wire [PIXELS-1:0]             agg_acc_we;
  wire [F_ACC_ROW_W-1:0]        agg_acc_row;
  wire [LANE_W-1:0]             agg_acc_lane;
  wire [COL_W-1:0]              agg_acc_col0;
  wire [PIXELS*ACC_BITS-1:0]    agg_acc_wd;
  seedcc_agg #(.LANES(LANES), .PIXELS(PIXELS)) u_agg (
    .clk(clk), .rst_n(rst_n), .start(start_agg),
    .f_in_addr(f_in_addr), .f_in_nodes(f_in_nodes), .f_acc_row(f_acc_row), .f_features(f_features),
    .f_row_count(f_row_count), .f_nnz(f_nnz), .f_csr_addr(f_csr_addr), .f_in_unsigned(f_in_unsigned),
    .last(last_agg), .err(agg_err),
    .mask_rd_addr(agg_mask_addr), .mask_rd_data(agg_mask_data),
    .act_rd_addr(agg_act_addr), .act_rd_data(agg_act_data),
    .acc_wr_en(agg_acc_we), .acc_wr_row(agg_acc_row), .acc_wr_lane(agg_acc_lane),
    .acc_wr_col0(agg_acc_col0), .acc_wr_data(agg_acc_wd)
  );
  generate
    for (gi = 0; gi < CSR_ENTRY_BYTES; gi = gi + 1) begin : agg_msk
      assign agg_mask_data[gi*8 +: 8] = mask_mem[mask_ix(agg_mask_addr + gi)];
    end
    for (gi = 0; gi < PIXELS; gi = gi + 1) begin : agg_act
      assign agg_act_data[gi*ACT_BITS +: ACT_BITS] = act_mem[act_ix(agg_act_addr[gi*XA_W +: XA_W])];
    end
  endgenerate

  // ---- SRAM writes (one unit is active at a time) ---------------------------------------
  integer wi;
  always @(posedge clk) begin
    if (host_imem_we) imem[host_imem_addr % INSTR_WORDS] <= host_imem_wdata;
    if (dma_wr) begin
      for (wi = 0; wi < BUS_BYTES; wi = wi + 1)
        if (dma_wr_be[wi]) begin
          case (dma_space)
            SPACE_ACT:   act_mem[act_ix(zx_byte(dma_wr_addr) + wi)] <= dma_wr_data[wi*8 +: 8];
            SPACE_MASK:  mask_mem[mask_ix(zx_byte(dma_wr_addr) + wi)] <= dma_wr_data[wi*8 +: 8];
            default: ;
          endcase
        end
    end
    if (req_wr)
      for (wi = 0; wi < PIXELS; wi = wi + 1)
        if (req_wr_be[wi])
          act_mem[act_ix(zx_byte(req_wr_addr) + wi)] <= req_wr_data[wi*ACT_BITS +: ACT_BITS];
    if (add_wr)
      for (wi = 0; wi < PIXELS; wi = wi + 1)
        if (add_wr_be[wi])
          act_mem[act_ix(zx_byte(add_wr_addr) + wi)] <= add_wr_data[wi*ACT_BITS +: ACT_BITS];
    if (pool_wr)
      for (wi = 0; wi < PIXELS; wi = wi + 1)
        if (pool_wr_be[wi])
          act_mem[act_ix(zx_byte(pool_wr_addr) + wi)] <= pool_wr_data[wi*ACT_BITS +: ACT_BITS];
    if (mm_wr)
      for (wi = 0; wi < PIXELS; wi = wi + 1)
        if (mm_wr_be[wi])
          act_mem[act_ix(zx_byte(mm_wr_addr) + wi)] <= mm_wr_data[wi*ACT_BITS +: ACT_BITS];
    if (sm_wr)
      for (wi = 0; wi < PIXELS; wi = wi + 1)
        if (sm_wr_be[wi])
          act_mem[act_ix(zx_byte(sm_wr_addr) + wi)] <= sm_wr_data[wi*ACT_BITS +: ACT_BITS];
    if (ln_wr)
      for (wi = 0; wi < PIXELS; wi = wi + 1)
        if (ln_wr_be[wi])
          act_mem[act_ix(zx_byte(ln_wr_addr) + wi)] <= ln_wr_data[wi*ACT_BITS +: ACT_BITS];
    if (gl_wr)
      for (wi = 0; wi < PIXELS; wi = wi + 1)
        if (gl_wr_be[wi])
          act_mem[act_ix(zx_byte(gl_wr_addr) + wi)] <= gl_wr_data[wi*ACT_BITS +: ACT_BITS];
  end

  // ---- param SRAM (seedcc_param_sram.v) -------------------------------------------------
  // Port A: the DMA engine (one transfer at a time: reads of a STORE or writes of a LOAD).
  // Port B: one word a cycle for the unit that reads the param SRAM: the MAC unit (SETGEN,
  // SETFRZ), LAYERNORM or the REQ unit. The first two never run together (one instruction
  // executes at a time), and SETGEN, SETFRZ and LAYERNORM do not issue before the last
  // cycle of the REQ unit's work, in which it reads no record; a REQ issues after the
  // instruction before has finished, and the others read nothing in their last cycle.
  wire [LANE_STATE_BITS-1:0] param_b_rd;
  assign mac_param_data = param_b_rd;
  assign req_param_data = param_b_rd;
  assign ln_param_data = param_b_rd;
  wire dma_param = (dma_space == SPACE_PARAM);
  seedcc_param_sram #(.PARAM_BYTES(PARAM_BYTES), .BUS_BYTES(BUS_BYTES)) u_param (
    .clk(clk),
    .a_rd(dma_rd && dma_param), .a_wr(dma_wr && dma_param),
    .a_addr(dma_wr ? dma_wr_addr : dma_rd_addr), .a_be(dma_wr_be), .a_wdata(dma_wr_data),
    .a_rdata(param_a_rd),
    .b_en(mac_param_rd | req_param_rd | ln_param_rd),
    .b_addr(req_param_rd ? req_param_addr : ln_param_rd ? ln_param_addr : mac_param_addr),
    .b_rdata(param_b_rd)
  );

  // ---- accumulator SRAM: one bank per column of the PE array ----------------------------
  // Bank o holds word o*PIXELS + q of every row: PE (o, q)'s accumulator, so the MAC array
  // reads and writes a whole row through one address. Port A: the MAC unit (reads in a
  // tile's RESTART, writes in its WB) or the AGG unit (PIXELS features, banks col0..col0 +
  // PIXELS - 1, one word each); the two never run together. Port B: the REQ unit, which
  // reads one bank a cycle and may run in the background beside either.
  localparam integer ACC_ROWS = (ACC_WORDS / NPE > 0) ? ACC_WORDS / NPE : 1;
  localparam integer ROW_W = (ACC_ROWS > 1) ? $clog2(ACC_ROWS) : 1;
  wire agg_acc = |agg_acc_we;
  // rows wrap at the SRAM's size (the reference model rejects a row past it)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [F_ACC_ROW_W-1:0] a_row = agg_acc ? agg_acc_row : mac_acc_row;
  wire [F_ACC_ROW_W-1:0] b_row = req_acc_row;
  /* verilator lint_on UNUSEDSIGNAL */
  reg  [COL_W-1:0] req_col_q;  // the bank read in the last cycle
  always @(posedge clk) if (req_acc_rd) req_col_q <= req_acc_col;
  wire [NCH*PIXELS*ACC_BITS-1:0] acc_b_rd;
  assign req_acc_data = acc_b_rd[req_col_q*PIXELS*ACC_BITS +: PIXELS*ACC_BITS];
  genvar bo, bq;
  generate
    for (bo = 0; bo < NCH; bo = bo + 1) begin : acc_bank
      wire [PIXELS-1:0] we;
      wire [PIXELS*ACC_BITS-1:0] wd;
      // AGG lane bo mod PIXELS writes here when its group starts at this bank's group
      localparam integer GROUP0 = (bo / PIXELS) * PIXELS;
      wire agg_here = (agg_acc_col0 == GROUP0[COL_W-1:0]);
      for (bq = 0; bq < PIXELS; bq = bq + 1) begin : lane
        assign we[bq] = mac_acc_we[bo*PIXELS + bq]
                      | (agg_acc_we[bo % PIXELS] && agg_here && (agg_acc_lane == bq));
        assign wd[bq*ACC_BITS +: ACC_BITS] = agg_acc ? agg_acc_wd[(bo % PIXELS)*ACC_BITS +: ACC_BITS]
                                                     : mac_acc_wd[(bo*PIXELS + bq)*ACC_BITS +: ACC_BITS];
      end
      seedcc_sram_dp #(.WORDS(ACC_ROWS), .LANES(PIXELS), .WIDTH(ACC_BITS), .ADDR_W(ROW_W)) u_sram (
        .clk(clk),
        .a_en(mac_acc_rd_en | (|we)), .a_we(we), .a_addr(a_row[ROW_W-1:0]), .a_wdata(wd),
        .a_rdata(mac_acc_rd[bo*PIXELS*ACC_BITS +: PIXELS*ACC_BITS]),
        .b_en(req_acc_rd && req_acc_col == bo), .b_addr(b_row[ROW_W-1:0]),
        .b_rdata(acc_b_rd[bo*PIXELS*ACC_BITS +: PIXELS*ACC_BITS])
      );
    end
  endgenerate
endmodule
