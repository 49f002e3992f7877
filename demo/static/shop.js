/* Demo shop behaviour: a cart in localStorage and a fake payment, reported to Handrail with the
   Segment e-commerce v2 events. Nothing the shopper types (card, name, email, address) is tracked. */
(function () {
  'use strict';
  var CART_KEY = 'shop_cart';
  var DECLINED_CARD = '4000000000000002';
  var money = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });
  var page = document.body.dataset.page;

  function $(id) { return document.getElementById(id); }
  function track(event, properties) { window.handrail('track', event, properties); }
  function round2(x) { return Math.round(x * 100) / 100; }

  function loadCart() {
    try { return JSON.parse(localStorage.getItem(CART_KEY)) || []; } catch (e) { return []; }
  }
  function saveCart(cart) {
    localStorage.setItem(CART_KEY, JSON.stringify(cart));
    showCount(cart);
  }
  function cartValue(cart) {
    return round2(cart.reduce(function (sum, p) { return sum + p.price * p.quantity; }, 0));
  }
  function showCount(cart) {
    $('cart-count').textContent = cart.reduce(function (n, p) { return n + p.quantity; }, 0);
  }

  // The product shown by an add button, from its data attributes.
  function productOf(button) {
    var d = button.dataset;
    return { product_id: d.productId, sku: d.sku, name: d.name, price: parseFloat(d.price) };
  }

  function addToCart(button) {
    var product = productOf(button), cart = loadCart();
    var line = cart.find(function (p) { return p.sku === product.sku; });
    if (line) line.quantity += 1;
    else cart.push(Object.assign({ quantity: 1 }, product));
    saveCart(cart);
    track('Product Added', Object.assign({ quantity: 1 }, product));
    button.textContent = 'Added ✓';
    setTimeout(function () { button.textContent = 'Add to cart'; }, 1200);
  }

  function removeFromCart(sku) {
    var cart = loadCart();
    var line = cart.find(function (p) { return p.sku === sku; });
    if (!line) return;
    saveCart(cart.filter(function (p) { return p !== line; }));
    track('Product Removed', line);
    renderCart();
  }

  function cell(row, text, className) {
    var td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function renderCart() {
    var cart = loadCart(), body = $('cart-items');
    body.textContent = '';
    cart.forEach(function (p) {
      var row = body.insertRow();
      cell(row, p.name);
      cell(row, p.quantity, 'num');
      cell(row, money.format(p.price * p.quantity), 'num');
      var remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'secondary';
      remove.id = 'remove-' + p.sku;
      remove.textContent = 'Remove';
      remove.addEventListener('click', function () { removeFromCart(p.sku); });
      cell(row, '', 'num').appendChild(remove);
    });
    $('cart-total').textContent = money.format(cartValue(cart));
    $('cart-table').hidden = !cart.length;
    $('cart-empty').hidden = !!cart.length;
    $('checkout').setAttribute('aria-disabled', String(!cart.length));
  }

  function renderSummary() {
    var cart = loadCart(), list = $('summary-items');
    cart.forEach(function (p) {
      var line = document.createElement('div'), name = document.createElement('span'),
          price = document.createElement('span');
      line.className = 'summary-line';
      name.textContent = p.quantity + ' × ' + p.name;
      price.textContent = money.format(p.price * p.quantity);
      line.append(name, price);
      list.appendChild(line);
    });
    $('summary-total').textContent = money.format(cartValue(cart));
    if ($('pay-amount')) $('pay-amount').textContent = money.format(cartValue(cart));
  }

  function showError(id, text) {
    var el = $(id);
    if (text) el.textContent = text;
    el.hidden = false;
  }

  function orderId() {
    var bytes = crypto.getRandomValues(new Uint8Array(5));
    return 'CC-' + Array.from(bytes, function (b) { return b.toString(16).padStart(2, '0'); }).join('').toUpperCase();
  }

  function pay(event) {
    event.preventDefault();
    $('payment-error').hidden = true;
    var digits = $('card-number').value.replace(/[\s-]/g, '');
    if (!/^\d{16}$/.test(digits)) return showError('payment-error', 'Enter the 16-digit card number.');
    track('Payment Info Entered', { payment_method: 'card' });
    if (digits === DECLINED_CARD) {
      showError('payment-error', 'Your card was declined.');
      track('Payment Failed', { reason: 'card_declined' });
      return;
    }
    var cart = loadCart(), total = cartValue(cart), id = orderId();
    track('Checkout Step Completed', { step: 2, step_name: 'payment' });
    track('Order Completed',
      { order_id: id, total: total, revenue: total, currency: 'EUR', products: cart });
    saveCart([]);
    // hr.js flushes its queue with sendBeacon when the page goes away.
    location.href = event.target.dataset.orderUrl.replace('ORDER_ID', encodeURIComponent(id));
  }

  showCount(loadCart());
  document.querySelectorAll('button.add').forEach(function (button) {
    button.addEventListener('click', function () { addToCart(button); });
  });

  if (page === 'product') {
    track('Product Viewed', productOf(document.querySelector('button.add')));
  } else if (page === 'cart') {
    renderCart();
    var cart = loadCart();
    track('Cart Viewed', { products: cart, value: cartValue(cart) });
    $('checkout').addEventListener('click', function (event) {
      var cart = loadCart();
      if (!cart.length) return event.preventDefault();
      track('Checkout Started', { value: cartValue(cart), currency: 'EUR', products: cart });
    });
  } else if (page === 'shipping') {
    renderSummary();
    track('Checkout Step Viewed', { step: 1, step_name: 'shipping' });
    $('shipping-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var filled = ['name', 'email', 'address'].every(function (id) { return $(id).value.trim(); });
      if (!filled || !/@/.test($('email').value)) return showError('shipping-error');
      track('Checkout Step Completed', { step: 1, step_name: 'shipping' });
      location.href = event.target.dataset.next;
    });
  } else if (page === 'payment') {
    renderSummary();
    track('Checkout Step Viewed', { step: 2, step_name: 'payment' });
    $('payment-form').addEventListener('submit', pay);
  }
})();
